"""`coach copy-db`: move a live SQLite database to PostgreSQL without losing a row."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli import main
from core.sync import outbox as sync
from storage.crypto import Cipher
from storage.db import database, open_database
from storage.models import Athlete, ChatIdentity, PlannedWorkout, SyncQueue, TrainingAvailability
from tests.conftest import ENCRYPTION_KEY, POSTGRES_URL, close_test_database, open_test_database


def test_sqlite_to_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = open_test_database("sqlite", tmp_path)
    with source.connection_context():
        ann = Athlete.create(name="Ann", intervals_athlete_id="i1", intervals_api_key="secret-api-key-1")
        ChatIdentity.create(athlete=ann, platform="telegram", platform_user_id="1", chat_id="1")
        TrainingAvailability.create(athlete=ann, day_of_week=2, gym_access=True, notes="lunch")
        row = PlannedWorkout.create(athlete=ann, date="2026-12-02", title="Tempo", type="Run", completed=True)
        sync.enqueue(ann.id, row.id, "create", {"date": "2026-12-02"})
    close_test_database(source)
    database.initialize(None)
    target = open_test_database("postgres", tmp_path, migrated=False)  # empty schema
    close_test_database(target)
    database.initialize(None)
    assert POSTGRES_URL

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'coach.db'}")
    monkeypatch.setenv("ENCRYPTION_KEY", ENCRYPTION_KEY)
    assert main(["copy-db", POSTGRES_URL]) == 0
    assert "planned_workout: 1 row(s)" in capsys.readouterr().out
    assert main(["copy-db", POSTGRES_URL]) == 1  # never into a database that has data

    db = open_database(POSTGRES_URL, Cipher(ENCRYPTION_KEY))
    try:
        with db.connection_context():
            copied = Athlete.get()
            assert copied.intervals_api_key == "secret-api-key-1"
            assert PlannedWorkout.get().completed is True
            assert TrainingAvailability.get().notes == "lunch"
            assert SyncQueue.select().count() == 1
            assert Athlete.create(name="Next").id == copied.id + 1  # sequences moved on
    finally:
        close_test_database(db)
        database.initialize(None)
