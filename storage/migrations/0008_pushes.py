"""Messages the coach sends on its own: per-athlete settings and one row per push sent or held.

The morning message's on/off flag and its "sent today" date move from ``athlete``
into these tables; an activity remembers the planned workout it completed.
"""

from typing import Any

import peewee as pw
from playhouse.migrate import migrate


def up(migrator: Any, db: pw.Database) -> None:
    class Athlete(pw.Model):
        daily_enabled = pw.BooleanField()

        class Meta:
            database = db
            table_name = "athlete"

    class PushSettings(pw.Model):
        athlete = pw.ForeignKeyField(Athlete, on_delete="CASCADE", unique=True)
        morning = pw.BooleanField(default=True)
        after_workout = pw.BooleanField(default=True)
        recovery = pw.BooleanField(default=True)
        weekly = pw.BooleanField(default=True)
        quiet_start = pw.IntegerField(null=True, default=22)
        quiet_end = pw.IntegerField(null=True, default=7)
        updated_at = pw.DateTimeField()

        class Meta:
            database = db
            table_name = "push_settings"

    class Push(pw.Model):
        athlete = pw.ForeignKeyField(Athlete, on_delete="CASCADE")
        kind = pw.CharField(max_length=16)
        key = pw.CharField(max_length=64)
        text = pw.TextField(default="")
        buttons = pw.JSONField(default=list)
        ready = pw.BooleanField(default=True)
        due_at = pw.DateTimeField()
        sent_at = pw.DateTimeField(null=True)
        attempts = pw.IntegerField(default=0)
        delivered = pw.IntegerField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            database = db
            table_name = "push"
            indexes = ((("athlete", "kind", "key"), True), (("sent_at", "due_at"), False))

    db.create_tables([PushSettings, Push])
    # Athletes who turned the morning message off keep it off.
    PushSettings.insert_from(
        Athlete.select(
            Athlete.id,
            pw.Value(False),
            *(pw.Value(True),) * 3,
            pw.Value(22),
            pw.Value(7),
            pw.SQL("CURRENT_TIMESTAMP"),
        ).where(
            Athlete.daily_enabled == False  # noqa: E712
        ),
        fields=[
            PushSettings.athlete,
            PushSettings.morning,
            PushSettings.after_workout,
            PushSettings.recovery,
            PushSettings.weekly,
            PushSettings.quiet_start,
            PushSettings.quiet_end,
            PushSettings.updated_at,
        ],
    ).execute()
    migrate(
        migrator.drop_column("athlete", "daily_enabled"),
        migrator.drop_column("athlete", "daily_sent_on"),
        migrator.add_column("activity", "matched_workout_id", pw.CharField(max_length=16, null=True)),
    )
