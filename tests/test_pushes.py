"""Pushes the coach sends on its own: /notify settings, quiet hours, and exactly one delivery per key."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from arq import func
from arq.worker import Worker
from peewee import Database

from bot.notifier import Notifier
from core.access import admission as access
from core.access import athletes, erase
from core.coaching import push_settings, pushes
from core.conversation.turn import Coach
from core.messages import Incoming
from core.model.llm import GeminiModel
from core.sync.intervals import IntervalsPool
from jobs import tasks
from jobs.worker import WorkerSettings
from storage import db as storage_db
from storage.migrate import migrate
from storage.models import Athlete, PlannedWorkout, Push, PushSettings
from tests.conftest import close_test_database, open_test_database
from tests.fakes.telegram import FakeTelegram

BERLIN_MORNING = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)  # 07:00 in Berlin, a Tuesday


@pytest.fixture
async def notifiers(notifier: Notifier, notifier_settings: Any) -> AsyncIterator[list[Any]]:
    """Two real notifiers (one per worker) pointed at the fakes."""
    second = Notifier(notifier_settings)
    await second.start()
    yield [notifier, second]
    await second.aclose()


@pytest.fixture
async def coach(db: Database, fake_gemini: Any, pool: IntervalsPool) -> AsyncIterator[Coach]:
    model = GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=2.0)
    yield Coach(model, pool)
    await model.aclose()


async def on_telegram(chat: int, timezone: str = "Europe/Berlin") -> int:
    return await athletes.identify("telegram", str(chat), str(chat), name=f"A{chat}", timezone=timezone)


def say(chat: int, text: str) -> Incoming:
    return Incoming("telegram", str(chat), str(chat), text=text)


async def test_notify_turns_each_kind_off_and_it_stays_off(coach: Coach) -> None:
    athlete = await on_telegram(11)
    shown = await coach.handle(say(11, "/notify"))
    assert shown.text.count("✅") == 4 and "Quiet hours 22:00-07:00" in shown.text
    for word, kind in (("morning", "morning"), ("after", "after workout"), ("recovery", "recovery")):
        reply = await coach.handle(say(11, f"/notify {word} off"))
        assert f"🔕 {kind}:" in reply.text
    reply = await coach.handle(say(11, "/notify weekly off"))
    assert reply.text.count("🔕") == 4 and "✅" not in reply.text
    assert (await storage_db.call(push_settings.read, athlete)).enabled == frozenset()

    # Off stays off: nothing of any kind can be claimed, at any time.
    def claims() -> list[Any]:
        with storage_db.transaction():
            return [pushes.claim(athlete, k, "2026-12-01", BERLIN_MORNING) for k in push_settings.KINDS]

    assert await storage_db.call(claims) == [None] * 4
    assert "🔕 morning" in (await coach.handle(say(11, "/notify"))).text
    assert "✅ morning" in (await coach.handle(say(11, "/daily on"))).text  # the old command still works

    quiet = await coach.handle(say(11, "/notify quiet 21:00-06:00"))
    assert "Quiet hours 21:00-06:00" in quiet.text
    assert "No quiet hours" in (await coach.handle(say(11, "/notify quiet off"))).text
    for bad in ("/notify quiet 22:30-7", "/notify quiet 25-7", "/notify loud off", "/notify after maybe"):
        assert "/notify" in (await coach.handle(say(11, bad))).text
    assert PushSettings.select().count() == 1


def queue(athlete: int, kind: str, key: str, now: dt.datetime, text: str) -> None:
    """Claim and fill a push, as a builder does."""
    with storage_db.transaction():
        push = pushes.claim(athlete, kind, key, now)
        assert push is not None
        pushes.fill(push.id, text)


def test_quiet_hours_release_at_their_end() -> None:
    prefs = push_settings.Prefs()
    late = dt.datetime(2026, 12, 1, 22, 30, tzinfo=dt.UTC)  # 23:30 in Berlin
    assert pushes.release_at(prefs, "Europe/Berlin", late) == dt.datetime(2026, 12, 2, 6, 0)
    early = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)  # 05:00 in Berlin
    assert pushes.release_at(prefs, "Europe/Berlin", early) == dt.datetime(2026, 12, 1, 6, 0)
    noon = dt.datetime(2026, 12, 1, 11, 0, tzinfo=dt.UTC)
    assert pushes.release_at(prefs, "Europe/Berlin", noon) == dt.datetime(2026, 12, 1, 11, 0)
    daytime_sleeper = push_settings.Prefs(quiet=(9, 17))
    assert pushes.release_at(daytime_sleeper, "UTC", noon) == dt.datetime(2026, 12, 1, 17, 0)
    assert push_settings.Prefs(quiet=None).morning_hour == 7 and daytime_sleeper.morning_hour == 17


async def test_quiet_hours_hold_a_push_until_morning(db: Database, set_clock: Any) -> None:
    athlete = await on_telegram(12)
    sent: list[tuple[int, Any]] = []

    async def notify(athlete_id: int, reply: Any) -> int:
        sent.append((athlete_id, reply))
        return 1

    late = dt.datetime(2026, 12, 1, 22, 30, tzinfo=dt.UTC)  # 23:30 in Berlin

    await storage_db.call(queue, athlete, "after_workout", "i123", late, "Nice ride.")
    for moment in (late, dt.datetime(2026, 12, 2, 5, 59, tzinfo=dt.UTC)):
        set_clock(moment)
        assert await tasks.deliver_pushes({"notify": notify}) == 0
    set_clock(dt.datetime(2026, 12, 2, 6, 0, tzinfo=dt.UTC))  # 07:00 in Berlin
    assert await tasks.deliver_pushes({"notify": notify}) == 1
    assert [r.text for _, r in sent] == ["Nice ride."]
    assert await tasks.deliver_pushes({"notify": notify}) == 0
    assert Push.get().delivered == 1


async def test_two_workers_send_each_morning_message_once(
    db: Database, arq_redis: Any, fake_telegram: FakeTelegram, notifiers: list[Any], set_clock: Any
) -> None:
    chats = list(range(300, 312))
    for chat in chats:
        athlete = await on_telegram(chat)
        PlannedWorkout.create(
            athlete=athlete, date=dt.date(2026, 12, 1), title=f"Ride {chat}", type="Ride", duration_minutes=60
        )
    set_clock(BERLIN_MORNING)
    workers = [
        Worker(
            functions=[*WorkerSettings.functions, func(tasks.scheduled_pushes, keep_result=0)],
            redis_pool=arq_redis,
            burst=True,
            poll_delay=0.01,
            ctx={"notify": n.notify},
            handle_signals=False,
            max_jobs=4,
        )
        for n in notifiers
    ]
    for i in range(4):  # as if the hourly pass ran twice and workers were restarted
        await arq_redis.enqueue_job("scheduled_pushes", _job_id=f"hourly:{i}")
        await arq_redis.enqueue_job("deliver_pushes", _job_id=f"deliver:{i}")
    await asyncio.gather(*(w.main() for w in workers))  # the arq_redis fixture closes the shared pool

    for chat in chats:
        [morning] = fake_telegram.sent(chat)
        assert f"• Ride {chat} (Ride, 60 min)" in morning["raw_text"].splitlines()
    assert Push.select().where(Push.delivered == 1).count() == len(chats)


def test_migration_keeps_a_morning_message_turned_off(backend: str, tmp_path: Path) -> None:
    handle = open_test_database(backend, tmp_path, migrated=False)
    try:
        migrate(handle, "0005_sync_queue_entity_index")
        with handle.connection_context():
            for name, daily in (("Quiet", False), ("Chatty", True)):
                handle.execute_sql(
                    "INSERT INTO athlete (name, timezone, daily_enabled, created_at, updated_at) "
                    f"VALUES ('{name}', 'UTC', {'true' if daily else 'false'}, "
                    "'2025-01-01 00:00:00', '2025-01-01 00:00:00')"
                )
        assert "0008_pushes" in migrate(handle)
        with handle.connection_context():
            quiet, chatty = (Athlete.get(Athlete.name == n).id for n in ("Quiet", "Chatty"))
            assert not push_settings.read(quiet).allows("morning")
            assert push_settings.read(quiet).allows("weekly")
            assert push_settings.read(chatty) == push_settings.Prefs()
    finally:
        close_test_database(handle)


async def test_a_push_that_reached_nobody_is_tried_again(
    db: Database, fake_telegram: FakeTelegram, notifier: Notifier, set_clock: Any
) -> None:
    athlete = await on_telegram(13)
    noon = dt.datetime(2026, 12, 1, 11, 0, tzinfo=dt.UTC)

    await storage_db.call(queue, athlete, "weekly", "2026-11-29", noon, "Your week.")
    ctx = {"notify": notifier.notify}
    fake_telegram.fail_next("sendMessage", 3, error_code=500)
    for minutes in (0, 10, 20, 30):
        set_clock(noon + dt.timedelta(minutes=minutes))
        assert await tasks.deliver_pushes(ctx) == (1 if minutes < 30 else 0)
    assert fake_telegram.sent(13) == [] and Push.get().attempts == 3  # three tries, then it gives up

    Push.update(attempts=0, sent_at=None).execute()
    fake_telegram.fail_next("sendMessage", 1, error_code=500)
    set_clock(noon + dt.timedelta(hours=1))
    assert await tasks.deliver_pushes(ctx) == 1 and fake_telegram.sent(13) == []
    assert await tasks.deliver_pushes(ctx) == 0  # not before ten minutes have passed
    set_clock(noon + dt.timedelta(hours=1, minutes=10))
    assert await tasks.deliver_pushes(ctx) == 1
    assert [m["raw_text"] for m in fake_telegram.sent(13)] == ["Your week."] and Push.get().delivered == 1


async def test_a_blocked_athlete_gets_no_push_nor_its_retries(
    db: Database, fake_telegram: FakeTelegram, notifier: Notifier, set_clock: Any
) -> None:
    blocked, other = await on_telegram(14), await on_telegram(15)
    noon = dt.datetime(2026, 12, 1, 11, 0, tzinfo=dt.UTC)
    for athlete in (blocked, other):
        await storage_db.call(queue, athlete, "weekly", "2026-11-29", noon, "Your week.")
    assert await storage_db.call(access.set_blocked, blocked, True)

    ctx = {"notify": notifier.notify}
    set_clock(noon)
    assert await tasks.deliver_pushes(ctx) == 1  # the other athlete's only
    dropped = Push.get(Push.athlete == blocked)
    assert dropped.sent_at is not None and dropped.delivered == 0 and dropped.attempts == 0

    # Unblocked later, they don't get what was due while they were blocked.
    assert await storage_db.call(access.set_blocked, blocked, False)
    for minutes in (10, 20, 30):
        set_clock(noon + dt.timedelta(minutes=minutes))
        assert await tasks.deliver_pushes(ctx) == 0
    assert fake_telegram.sent(14) == [] and len(fake_telegram.sent(15)) == 1


async def test_one_failing_athlete_does_not_stop_the_hourly_pass(
    db: Database, fake_telegram: FakeTelegram, notifier: Notifier, set_clock: Any, caplog: Any
) -> None:
    broken, fine = await on_telegram(16), await on_telegram(17)
    # A zone this machine's tzdata no longer knows: every schedule of this athlete fails.
    Athlete.update(timezone="Europe/Atlantis").where(Athlete.id == broken).execute()
    for athlete in (broken, fine):
        PlannedWorkout.create(athlete=athlete, date=dt.date(2026, 12, 1), title="Ride", type="Ride")
    set_clock(BERLIN_MORNING)

    with caplog.at_level("WARNING", logger="jobs.tasks"):
        assert await tasks.scheduled_pushes({"notify": notifier.notify}) == 1
    assert fake_telegram.sent(16) == [] and "Good morning!" in fake_telegram.sent(17)[0]["raw_text"]
    [line] = [r for r in caplog.records if r.name == "jobs.tasks"]
    assert line.exc_info is None and "Europe/Atlantis" in line.getMessage()


async def test_an_athlete_erased_during_the_hourly_pass_is_skipped_quietly(
    db: Database, set_clock: Any, caplog: Any
) -> None:
    gone = await on_telegram(18)
    await erase.erase(gone)
    with caplog.at_level("INFO", logger="jobs.tasks"):
        await tasks.scheduled_for(gone, BERLIN_MORNING)
    [line] = [r for r in caplog.records if r.name == "jobs.tasks"]
    assert line.exc_info is None and "erased" in line.getMessage()
