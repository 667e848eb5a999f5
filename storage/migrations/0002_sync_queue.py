"""The design's sync changes: sync fields on PlannedWorkout and the SyncQueue table.

Existing workouts were created before sync tracking; they default to SYNCED when
they carry a remote event id and to LOCAL otherwise, so nothing is re-sent blindly.
"""

from typing import Any

import peewee as pw
from playhouse.migrate import migrate


def up(migrator: Any, db: pw.Database) -> None:
    migrate(
        migrator.add_column(
            "planned_workout", "sync_status", pw.CharField(max_length=16, null=True, default="SYNCED")
        ),
        migrator.add_column("planned_workout", "last_synced_at", pw.DateTimeField(null=True)),
        migrator.add_column("planned_workout", "sync_error", pw.TextField(null=True)),
        migrator.add_column("planned_workout", "modified_locally", pw.BooleanField(default=False)),
    )
    db.execute_sql(
        "UPDATE planned_workout SET sync_status = CASE WHEN remote_event_id IS NULL "
        "THEN 'LOCAL' ELSE 'SYNCED' END"
    )

    class Athlete(pw.Model):
        class Meta:
            database = db
            table_name = "athlete"

    class SyncQueue(pw.Model):
        id = pw.CharField(primary_key=True, max_length=36)
        athlete = pw.ForeignKeyField(Athlete, column_name="user_id", on_delete="CASCADE")
        entity_type = pw.CharField(max_length=32)
        entity_id = pw.CharField(max_length=36)
        operation = pw.CharField(max_length=16)
        payload = pw.TextField()
        status = pw.CharField(max_length=16, default="PENDING")
        attempts = pw.IntegerField(default=0)
        last_attempt = pw.DateTimeField(null=True)
        error = pw.TextField(null=True)
        completed_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            database = db
            table_name = "sync_queue"
            indexes = (
                (("athlete", "status"), False),
                (("status", "created_at"), False),
            )

    db.create_tables([SyncQueue])
