"""Unavailable date ranges and daily caps (max minutes per weekday)."""

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

    db.create_tables([UnavailableDates])
    migrate(migrator.add_column("training_availability", "max_minutes", pw.IntegerField(null=True)))
