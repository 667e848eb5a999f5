"""A worker started while Telegram does not answer: it syncs anyway, and tells the athletes once Telegram is back.

The worker runs as ``coach worker`` does (arq's Worker with the real startup, its cron pass and the real
notifier) against the fake Intervals.icu and the fake Telegram, which answers 502 while it is down.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from arq.worker import Worker
from peewee import Database

from bot import notifier
from core.access import athletes
from core.coaching import notices
from core.config import load_settings
from core.planning import workouts
from core.sync.intervals import IntervalsPool
from jobs import tasks, worker
from storage import db as storage_db
from storage.models import Athlete, PlannedWorkout
from tests.conftest import ENCRYPTION_KEY, POSTGRES_URL
from tests.fakes.intervals import FakeIntervals
from tests.fakes.telegram import FakeTelegram
from tests.test_jobs import CHAT, ride, telegram_athlete

BEN_CHAT = 5252


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The worker's startup configures the root logger for the process; give the next test its own back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def settings(
    backend: str,
    tmp_path: Path,
    fake_intervals: FakeIntervals,
    fake_telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """The worker's environment: the test's database, the fakes, Telegram only, no model."""
    database_url = POSTGRES_URL if backend == "postgres" else f"sqlite:///{tmp_path / 'coach.db'}"
    for name in ("GEMINI_API_KEY", "SLACK_BOT_TOKEN", "METRICS_PORT"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "DATABASE_URL": database_url,
        "ENCRYPTION_KEY": ENCRYPTION_KEY,
        "INTERVALS_BASE_URL": fake_intervals.url,
        "TELEGRAM_BOT_TOKEN": fake_telegram.token,
        "TELEGRAM_API_BASE_URL": fake_telegram.url,
        "LOG_FORMAT": "text",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


async def test_worker_started_while_telegram_is_down_syncs_and_tells_once_it_is_back(
    db: Database,
    settings: Any,
    root_logging: None,
    arq_redis: Any,
    pool: IntervalsPool,
    fake_intervals: FakeIntervals,
    fake_telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(notifier, "RECHECK_SECONDS", (0.05,))
    ann = await telegram_athlete(fake_intervals)
    fake_intervals.fail_next(1, "500")
    created = await workouts.create_workout(pool, ann, ride())
    assert created.sync_status == "pending"  # queued for the worker's pass
    ben = await athletes.identify("telegram", str(BEN_CHAT), str(BEN_CHAT), name="Ben")
    fake_intervals.add_athlete("i1002", "key-b-0123456789")
    await athletes.link(ben, "i1002", "key-b-0123456789")
    fake_intervals.revoke_key("key-b-0123456789")
    fake_telegram.down = True

    # What `coach worker` runs: startup, then the sync pass it schedules at start.
    at_start = [
        dataclasses.replace(c, next_run=None) for c in worker.WorkerSettings.cron_jobs if c.run_at_startup
    ]
    w = Worker(
        functions=worker.WorkerSettings.functions,
        cron_jobs=at_start,
        on_startup=worker.startup,
        redis_pool=arq_redis,
        ctx={"settings": settings},
        burst=True,
        poll_delay=0.05,
        handle_signals=False,
    )
    try:
        await w.main()
        said = capsys.readouterr().err
        assert "Traceback" not in said
        [line] = [s for s in said.splitlines() if "Telegram Bot API" in s]
        assert f"is not reachable at {fake_telegram.url} (NetworkError)" in line, line
        assert line.endswith("Starting anyway: messages wait until it answers."), line

        [event] = fake_intervals.events("i1001")
        row = PlannedWorkout.get_by_id(created.data["id"])
        assert row.sync_status == "SYNCED" and row.remote_event_id == event["id"]

        # Ben's refused key is found while Telegram is down: the notice waits, not marked as given.
        await tasks.check_credentials(w.ctx)
        assert fake_telegram.sent() == []
        assert Athlete.get_by_id(ben).key_notified_at is None

        fake_telegram.down = False
        async with asyncio.timeout(5):
            while w.ctx["notifier"].waiting:
                await asyncio.sleep(0.02)
        await tasks.check_credentials(w.ctx)  # the next pass
        [notice] = fake_telegram.sent(BEN_CHAT)
        assert notice["text"] == notices.KEY_REJECTED
        assert Athlete.get_by_id(ben).key_notified_at is not None
        await tasks.check_credentials(w.ctx)
        assert len(fake_telegram.sent(BEN_CHAT)) == 1 and fake_telegram.sent(CHAT) == []
    finally:
        await worker.shutdown(w.ctx)
        storage_db.dispose(storage_db.database.obj)
