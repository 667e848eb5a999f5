"""Unavailable date ranges, daily caps (max minutes per weekday), and the change log behind undo."""

from typing import Any

import peewee as pw
from playhouse.migrate import migrate


def up(migrator: Any, db: pw.Database) -> None:
    class Athlete(pw.Model):
        class Meta:
            database = db
            table_name = "athlete"

    class UnavailableDates(pw.Model):
        athlete = pw.ForeignKeyField(Athlete, on_delete="CASCADE")
        start_date = pw.DateField()
        end_date = pw.DateField()
        reason = pw.TextField(default="")
        created_at = pw.DateTimeField()

        class Meta:
            database = db
            table_name = "unavailable_dates"
            indexes = ((("athlete", "end_date"), False),)

    class ChangeLog(pw.Model):
        athlete = pw.ForeignKeyField(Athlete, on_delete="CASCADE")
        kind = pw.CharField(max_length=16)
        summary = pw.TextField(default="")
        payload = pw.JSONField(default=dict)
        created_at = pw.DateTimeField()
        undone_at = pw.DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "change_log"
            indexes = ((("athlete", "created_at"), False),)

    db.create_tables([UnavailableDates, ChangeLog])
    migrate(migrator.add_column("training_availability", "max_minutes", pw.IntegerField(null=True)))
