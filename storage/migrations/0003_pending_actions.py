"""Pending actions behind confirmation buttons (plan generation, delete, conflict override)."""

from typing import Any

import peewee as pw


def up(migrator: Any, db: pw.Database) -> None:
    class Athlete(pw.Model):
        class Meta:
            database = db
            table_name = "athlete"

    class PendingAction(pw.Model):
        id = pw.CharField(primary_key=True, max_length=16)
        athlete = pw.ForeignKeyField(Athlete, on_delete="CASCADE")
        kind = pw.CharField(max_length=32)
        payload = pw.JSONField(default=dict)
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        used_at = pw.DateTimeField(null=True)
        choice = pw.CharField(max_length=16, null=True)

        class Meta:
            database = db
            table_name = "pending_action"
            indexes = ((("athlete", "created_at"), False),)

    db.create_tables([PendingAction])
