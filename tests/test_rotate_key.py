"""`coach rotate-key`: re-encrypt every secret under a new key, then drop the old one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cli import main
from core.sync import outbox as sync
from storage.crypto import Cipher, DecryptionError
from storage.db import database, open_database
from storage.migrate import migrate
from storage.models import Athlete, PlannedWorkout, SyncQueue


def test_rotate_key_then_drop_the_old_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = f"sqlite:///{tmp_path / 'rotate.db'}"
    db = open_database(url, Cipher(old))
    migrate(db)
    with db.connection_context():
        athlete = Athlete.create(name="Ann", intervals_athlete_id="i1", intervals_api_key="api-key-ann-123")
        for i in range(3):
            row = PlannedWorkout.create(athlete=athlete, date="2026-12-01", title=f"Secret {i}", type="Run")
            sync.enqueue(athlete.id, row.id, "create", {"date": "2026-12-01", "n": i})
    database.initialize(None)

    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ENCRYPTION_KEY", f"{new},{old}")
    assert main(["rotate-key"]) == 0
    out = capsys.readouterr().out
    assert "athlete: 1 row(s) re-encrypted" in out and "sync_queue: 3 row(s) re-encrypted" in out
    database.initialize(None)

    db = open_database(url, Cipher(new))  # the old key is gone
    try:
        with db.connection_context():
            assert Athlete.get().intervals_api_key == "api-key-ann-123"
            assert sorted(json.loads(i.payload)["n"] for i in SyncQueue.select()) == [0, 1, 2]
    finally:
        database.initialize(None)

    db = open_database(url, Cipher(old))  # and the old key no longer opens anything
    try:
        with db.connection_context(), pytest.raises(DecryptionError):
            _ = Athlete.get().intervals_api_key
    finally:
        database.initialize(None)
