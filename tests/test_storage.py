"""Schema, migrations and encryption at rest, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from peewee import Database

from storage.migrate import migrate, pending
from storage.models import ALL_MODELS, Athlete, PlannedWorkout, SyncQueue
from tests.conftest import close_test_database, open_test_database


def test_migrating_an_old_database_keeps_its_rows(backend: str, tmp_path: Path) -> None:
    db = open_test_database(backend, tmp_path, migrated=False)
    try:
        assert migrate(db, "0001_initial") == ["0001_initial"]
        with db.connection_context():
            db.execute_sql(
                "INSERT INTO athlete (name, timezone, created_at, updated_at) "
                "VALUES ('Old Timer', 'Europe/Oslo', '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
            )
            athlete_id = db.execute_sql("SELECT id FROM athlete").fetchone()[0]
            for wid, remote in (("oldsynced1", 4242), ("oldlocal01", None)):
                db.execute_sql(
                    "INSERT INTO planned_workout (id, athlete_id, date, title, description, type, "
                    "location, completed, remote_event_id, created_at, updated_at) VALUES "
                    f"('{wid}', {athlete_id}, '2025-01-02', 'Long ride', '', 'Ride', 'any', "
                    f"{'true' if backend == 'postgres' else '1'} , "
                    f"{remote if remote else 'NULL'}, '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
                )

        assert pending(db) == [
            "0002_sync_queue",
            "0003_pending_actions",
            "0004_jobs",
            "0005_sync_queue_entity_index",
            "0006_access",
            "0007_workout_steps",
            "0008_pushes",
            "0009_blackouts_and_undo",
            "0010_invitation_first_run",
        ]
        assert migrate(db) == [
            "0002_sync_queue",
            "0003_pending_actions",
            "0004_jobs",
            "0005_sync_queue_entity_index",
            "0006_access",
            "0007_workout_steps",
            "0008_pushes",
            "0009_blackouts_and_undo",
            "0010_invitation_first_run",
        ]
        assert migrate(db) == []

        with db.connection_context():
            old = Athlete.get_by_id(athlete_id)
            assert old.name == "Old Timer"
            # An athlete from before invitations keeps their access: admitted since they first wrote.
            assert old.admitted_at == old.created_at and old.blocked_at is None
            synced = PlannedWorkout.get_by_id("oldsynced1")
            local = PlannedWorkout.get_by_id("oldlocal01")
            assert synced.title == "Long ride" and synced.completed
            assert synced.sync_status == "SYNCED" and local.sync_status == "LOCAL"
            assert not synced.modified_locally
            assert SyncQueue.select().count() == 0
    finally:
        close_test_database(db)


def test_migrations_build_exactly_the_models(db: Database) -> None:
    for model in ALL_MODELS:
        table = model._meta.table_name
        columns = {c.name for c in db.get_columns(table)}
        fields = {f.column_name for f in model._meta.sorted_fields}
        assert columns == fields, table
    indexed = {tuple(i.columns) for i in db.get_indexes("sync_queue")}
    assert ("user_id", "status") in indexed and ("status", "created_at") in indexed


def test_secrets_are_encrypted_at_rest(db: Database) -> None:
    Athlete.create(name="Ann", intervals_athlete_id="i1", intervals_api_key="very-secret-key-123")
    raw = db.execute_sql("SELECT intervals_api_key FROM athlete").fetchone()[0]
    assert "very-secret-key-123" not in raw
    assert Athlete.get().intervals_api_key == "very-secret-key-123"
