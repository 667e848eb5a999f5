"""Shared fixtures: a real database (SQLite and PostgreSQL), the fake Intervals.icu, a client pool."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from peewee import Database

from core import cache
from core.sync.intervals import IntervalsPool
from storage.crypto import Cipher
from storage.db import database, dispose, open_database
from storage.migrate import migrate
from tests.fakes.gemini import FakeGemini
from tests.fakes.intervals import FakeIntervals
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.helpers import clock as shifted

POSTGRES_URL = os.environ.get("COACH_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("COACH_TEST_REDIS_URL")
REQUIRE_SERVICES = os.environ.get("COACH_REQUIRE_SERVICES") == "1"

ENCRYPTION_KEY = Fernet.generate_key().decode()
# Settings never come from the checkout's own .env (an operator's keys and database): every test,
# and every process a test starts, reads COACH_HOME's, an empty folder unless the test sets another.
os.environ["COACH_HOME"] = tempfile.mkdtemp(prefix="coach-home-")


def _reset_postgres(db: Database) -> None:
    with db.connection_context():
        db.execute_sql("DROP SCHEMA public CASCADE")
        db.execute_sql("CREATE SCHEMA public")


def open_test_database(backend: str, tmp_path: Path, *, migrated: bool = True) -> Database:
    """A fresh, empty database of the given backend bound to the models."""
    if backend == "postgres":
        if not POSTGRES_URL:
            if REQUIRE_SERVICES:
                pytest.fail("COACH_TEST_POSTGRES_URL is not set; run the suite with scripts/test")
            pytest.skip("PostgreSQL not configured (run scripts/test)")
        db = open_database(POSTGRES_URL, Cipher(ENCRYPTION_KEY))
        _reset_postgres(db)
    else:
        db = open_database(f"sqlite:///{tmp_path / 'coach.db'}", Cipher(ENCRYPTION_KEY))
    if migrated:
        migrate(db)
    cache.clear()  # athlete ids repeat in every fresh database
    return db


def close_test_database(db: Database) -> None:
    """Return every pooled connection."""
    dispose(db)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Run the test once per database backend."""
    return str(request.param)


@pytest.fixture
def db(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on each backend."""
    handle = open_test_database(backend, tmp_path)
    yield handle
    close_test_database(handle)
    database.initialize(None)


@pytest.fixture(scope="session")
def fake_intervals_server() -> Iterator[FakeIntervals]:
    """One fake Intervals.icu server for the whole run."""
    with FakeIntervals() as fake:
        yield fake


@pytest.fixture
def fake_intervals(fake_intervals_server: FakeIntervals) -> FakeIntervals:
    """The fake, emptied and healthy for this test."""
    fake_intervals_server.reset()
    return fake_intervals_server


@pytest.fixture
async def pool(fake_intervals: FakeIntervals) -> AsyncIterator[IntervalsPool]:
    """A real client pool pointed at the fake, with a short timeout for failure tests."""
    p = IntervalsPool(fake_intervals.url, timeout=0.5, rate=500)
    yield p
    await p.aclose()


@pytest.fixture(scope="session")
def fake_gemini_server() -> Iterator[FakeGemini]:
    """One fake Gemini API server for the whole run."""
    with FakeGemini() as fake:
        yield fake


@pytest.fixture
def fake_gemini(fake_gemini_server: FakeGemini) -> FakeGemini:
    """The fake, with an empty script, no default reply and no records, for this test."""
    fake_gemini_server.reset()
    return fake_gemini_server


@pytest.fixture(scope="session")
def fake_telegram_server() -> Iterator[FakeTelegram]:
    """One fake Telegram Bot API server for the whole run."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def fake_telegram(fake_telegram_server: FakeTelegram) -> FakeTelegram:
    """The fake, with no calls, messages, updates, failures or webhook, for this test."""
    fake_telegram_server.reset()
    return fake_telegram_server


@pytest.fixture
async def arq_redis() -> AsyncIterator[Any]:
    """A real redis-server (started by scripts/test), emptied for this test, as arq's pool."""
    from arq import create_pool
    from arq.connections import RedisSettings

    if not REDIS_URL:
        if REQUIRE_SERVICES:
            pytest.fail("COACH_TEST_REDIS_URL is not set; run the suite with scripts/test")
        pytest.skip("Redis not configured (run scripts/test)")
    redis = await create_pool(RedisSettings.from_dsn(REDIS_URL))
    await redis.flushdb()
    yield redis
    await redis.aclose()


@pytest.fixture(scope="session")
def fake_slack_server() -> Iterator[FakeSlack]:
    """One fake Slack Web API server for the whole run."""
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake_slack(fake_slack_server: FakeSlack) -> FakeSlack:
    """The fake Slack, emptied for this test."""
    fake_slack_server.reset()
    return fake_slack_server


@pytest.fixture
async def make_coach(db: Database, fake_gemini: FakeGemini, pool: IntervalsPool) -> AsyncIterator[Any]:
    """Coaches built with the given options (policy, budget, limits...); the default policy is the
    closed one (ACCESS=invite). Each has its own real google-genai client on the fake Gemini."""
    from core.conversation.turn import Coach, Limits
    from core.model.llm import GeminiModel

    models: list[GeminiModel] = []

    def make(**options: Any) -> Coach:
        models.append(GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=2.0))
        return Coach(models[-1], pool, **{"limits": Limits(turn_timeout=10), **options})

    yield make
    for model in models:
        await model.aclose()


@pytest.fixture
async def coach(db: Database, fake_gemini: FakeGemini, pool: IntervalsPool) -> AsyncIterator[Any]:
    """Core's Coach, open to anyone, with the real google-genai client on the fake Gemini, generating plans in-process."""
    from core.access.admission import Access
    from core.conversation.turn import Coach, Limits
    from core.model.llm import GeminiModel

    model = GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=1.0)
    yield Coach(
        model,
        pool,
        limits=Limits(max_steps=4, turn_timeout=5),
        # Tests of conversations, not admission: anyone may chat (tests/test_access.py covers invite).
        policy=Access(mode="open"),
    )
    await model.aclose()


@pytest.fixture
def notifier_settings(
    fake_telegram: FakeTelegram, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Settings that point a notifier at the fake Telegram and the fake Slack."""
    from core.config import load_settings

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake_telegram.token)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", fake_telegram.url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    return load_settings()


@pytest.fixture
async def notifier(notifier_settings: Any) -> AsyncIterator[Any]:
    """The real notifier, with both platforms pointed at their fakes."""
    from bot.notifier import Notifier

    n = Notifier(notifier_settings)
    await n.start()
    yield n
    await n.aclose()


@pytest.fixture(autouse=True)
def shifted_clock() -> Iterator[None]:
    """Every test's "now": the real moment, moved by COACH_TEST_CLOCK_SHIFT_DAYS when set."""
    from storage import clock

    clock.hooks.now = shifted.now if shifted.SHIFT else None
    yield
    clock.hooks.now = None


@pytest.fixture
def set_clock(shifted_clock: None) -> Iterator[Any]:
    """Fix the one clock (``storage.clock``, read by core and storage alike) at a moment of the test's choosing."""
    from storage import clock

    def at(moment: Any) -> None:
        clock.hooks.now = lambda: moment

    yield at
