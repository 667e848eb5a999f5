"""Access and budgets: invitations, strangers' counters, per-athlete usage, admitted and blocked athletes.

Athletes who exist already keep their access: they are admitted as of when they first wrote.
"""

from typing import Any

import peewee as pw
from playhouse.migrate import migrate


def up(migrator: Any, db: pw.Database) -> None:
    class Athlete(pw.Model):
        class Meta:
            database = db
            table_name = "athlete"

    class Invitation(pw.Model):
        code_hash = pw.CharField(max_length=64, unique=True)
        max_uses = pw.IntegerField(default=1)
        uses = pw.IntegerField(default=0)
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        revoked_at = pw.DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "invitation"

    class Stranger(pw.Model):
        key = pw.CharField(primary_key=True, max_length=64)
        messages = pw.IntegerField(default=0)
        last_seen_at = pw.DateTimeField()
        answered_at = pw.DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "stranger"
            indexes = ((("last_seen_at",), False),)

    class Usage(pw.Model):
        athlete = pw.ForeignKeyField(Athlete, on_delete="CASCADE")
        budget = pw.CharField(max_length=16)
        window_start = pw.DateTimeField()
        amount = pw.IntegerField(default=0)

        class Meta:
            database = db
            table_name = "usage"
            indexes = ((("athlete", "budget"), True),)

    db.create_tables([Invitation, Stranger, Usage])
    migrate(
        migrator.add_column("athlete", "admitted_at", pw.DateTimeField(null=True)),
        migrator.add_column("athlete", "blocked_at", pw.DateTimeField(null=True)),
    )
    db.execute_sql("UPDATE athlete SET admitted_at = created_at")
