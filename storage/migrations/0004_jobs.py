"""What the background jobs need: queue claims, uncertain outcomes, workout origin, notices."""

from typing import Any

import peewee as pw
from playhouse.migrate import migrate


def up(migrator: Any, db: pw.Database) -> None:
    migrate(
        migrator.add_column("sync_queue", "uncertain", pw.BooleanField(default=False)),
        migrator.add_column("sync_queue", "claimed_by", pw.CharField(max_length=64, null=True)),
        migrator.add_column("sync_queue", "claim_expires_at", pw.DateTimeField(null=True)),
        migrator.add_column("sync_queue", "notified_at", pw.DateTimeField(null=True)),
        migrator.add_column("planned_workout", "origin", pw.CharField(max_length=16, default="coach")),
        migrator.add_column("athlete", "key_rejected_at", pw.DateTimeField(null=True)),
        migrator.add_column("athlete", "key_notified_at", pw.DateTimeField(null=True)),
        migrator.add_column("athlete", "daily_enabled", pw.BooleanField(default=True)),
        migrator.add_column("athlete", "daily_sent_on", pw.DateField(null=True)),
        migrator.add_index("planned_workout", ("remote_event_id",), False),
    )
