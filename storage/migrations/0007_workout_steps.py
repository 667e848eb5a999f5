"""Structured workouts: a planned workout's steps (JSON), rendered into its event as workout text."""

from typing import Any

import peewee as pw
from playhouse.migrate import migrate


def up(migrator: Any, db: pw.Database) -> None:
    migrate(migrator.add_column("planned_workout", "steps", pw.JSONField(null=True)))
