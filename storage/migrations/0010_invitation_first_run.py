"""Mark the invitation scripts/run prints while nobody is admitted, so the next run replaces it."""

from typing import Any

import peewee as pw
from playhouse.migrate import migrate


def up(migrator: Any, db: pw.Database) -> None:
    migrate(migrator.add_column("invitation", "first_run", pw.BooleanField(default=False)))
