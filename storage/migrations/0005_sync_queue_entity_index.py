"""Index the sync queue by workout: coalescing and claims look up a workout's open items."""

from typing import Any

import peewee as pw
from playhouse.migrate import migrate


def up(migrator: Any, db: pw.Database) -> None:
    migrate(migrator.add_index("sync_queue", ("entity_id", "status"), False))
