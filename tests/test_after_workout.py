"""After-workout notes: matched, numbered, one per activity, through /sync and the worker."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.worker import Worker
from peewee import Database

from bot.notifier import Notifier
from core import clock
from core.access import admission as access
from core.access import athletes
from core.coaching import after_workout, pushes
from core.conversation.turn import Coach
from core.messages import Incoming
from core.model.llm import GeminiModel
from core.planning import workouts
from core.sync.intervals import IntervalsPool
from jobs import tasks
from jobs.enqueue import push_announcer
from jobs.worker import WorkerSettings
from storage import db as storage_db
from storage.models import Activity, ChatIdentity, ConversationTurn, PlannedWorkout, Push, PushSettings
from tests.fakes.gemini import FakeGemini, error, json_reply
from tests.fakes.intervals import FakeIntervals
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram

CHAT = 7301
KEY = "key-a-0123456789"


@pytest.fixture
async def model(fake_gemini: FakeGemini) -> AsyncIterator[GeminiModel]:
    m = GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=2.0)
    yield m
    await m.aclose()


def worker_for(arq_redis: Any, pool: IntervalsPool, model: Any, notify: Any) -> Worker:
    return Worker(
        functions=WorkerSettings.functions,
        redis_pool=arq_redis,
        burst=True,
        poll_delay=0.01,
        ctx={"pool": pool, "model": model, "notify": notify},
        handle_signals=False,
    )


async def connected(fake: FakeIntervals, chat: int = CHAT) -> int:
    """An athlete on Telegram and Slack, linked to the fake Intervals.icu, with no quiet hours."""
    athlete = await athletes.identify("telegram", str(chat), str(chat), name="Ann", timezone="Europe/Berlin")
    ChatIdentity.create(athlete=athlete, platform="slack", platform_user_id="U1", chat_id="D1")
    fake.add_athlete("i1001", KEY)
    await athletes.link(athlete, "i1001", KEY, ftp=250)
    return athlete


def today() -> dt.date:
    return clock.today_in("Europe/Berlin")


def ride(**extra: Any) -> dict[str, Any]:
    return {
        "start_date_local": f"{today()}T07:30:00",
        "type": "Ride",
        "name": "Morning tempo",
        "source": "GARMIN_CONNECT",
        "moving_time": 3720,
        "icu_training_load": 75,
        "icu_average_watts": 205,
        "icu_weighted_avg_watts": 231,
        **extra,
    }


def planned(**extra: Any) -> dict[str, Any]:
    return {
        "date": today().isoformat(),
        "title": "Tempo intervals",
        "type": "Ride",
        "duration_minutes": 60,
        "tss": 70,
        "intensity": "moderate",
        "time_of_day": "morning",
        **extra,
    }


def said(text: str) -> Incoming:
    return Incoming("telegram", str(CHAT), str(CHAT), text=text)


async def test_sync_sends_one_note_with_planned_vs_done(
    db: Database,
    fake_intervals: FakeIntervals,
    fake_gemini: FakeGemini,
    fake_telegram: FakeTelegram,
    fake_slack: FakeSlack,
    pool: IntervalsPool,
    model: GeminiModel,
    notifier: Notifier,
    arq_redis: Any,
) -> None:
    athlete = await connected(fake_intervals)
    coach = Coach(model, pool)
    await coach.handle(said("/notify quiet off"))  # the test may run at night in Berlin
    wid = (await workouts.create_workout(pool, athlete, planned())).data["id"]
    fake_intervals.add_activity("i1001", ride(id="i5001"))
    fake_gemini.script(json_reply({"sentence": "Strong, steady tempo: exactly what today asked for."}))
    pushes.hooks.announce = push_announcer(arq_redis)
    worker = worker_for(arq_redis, pool, model, notifier.notify)
    try:
        reply = await coach.handle(said("/sync"))
        assert "Refreshed from Intervals.icu: 1 activities" in reply.text
        await worker.main()

        [note] = fake_telegram.sent(CHAT)
        text = note["raw_text"]
        assert "✅ Tempo intervals (Ride) is done." in text
        assert "Planned: 1h00, TSS 70" in text
        assert "Done: 1h02, TSS 75, avg 205 W (82 % of FTP 250 W), NP 231 W (92 % of FTP 250 W)" in text
        assert "Compliance: 107 % of the planned TSS" in text
        assert text.endswith("Strong, steady tempo: exactly what today asked for.")
        [slack] = fake_slack.messages("D1")
        assert "Compliance: 107 %" in slack["text"]
        assert PlannedWorkout.get_by_id(wid).completed
        # The note is in the conversation, so a reply to it has its context.
        assert ConversationTurn.select().where(ConversationTurn.role == "model").count() == 1
        assert Activity.get(Activity.remote_id == "i5001").matched_workout_id == wid
        prompt = fake_gemini.user_texts(0)[0]
        assert "Planned: 1h00, TSS 70" in prompt and "Done: 1h02" in prompt

        await coach.handle(said("/sync"))  # nothing new: no second note, no second model call
        await worker.main()
        assert len(fake_telegram.sent(CHAT)) == 1 and len(fake_gemini.requests) == 1
    finally:
        pushes.hooks.announce = None


async def test_matching_notes_and_fallbacks(
    db: Database,
    fake_intervals: FakeIntervals,
    fake_gemini: FakeGemini,
    pool: IntervalsPool,
    model: GeminiModel,
) -> None:
    athlete = await connected(fake_intervals)
    PushSettings.create(athlete=athlete, quiet_start=None, quiet_end=None)
    short = (
        await workouts.create_workout(pool, athlete, planned(title="Openers", duration_minutes=45, tss=40))
    ).data
    long = (
        await workouts.create_workout(
            pool, athlete, planned(title="Endurance", duration_minutes=120, tss=100, time_of_day="afternoon")
        )
    ).data
    run = (await workouts.create_workout(pool, athlete, planned(title="Easy run", type="Run", tss=None))).data
    fake_intervals.add_activity("i1001", ride(id="i1", moving_time=6900, icu_training_load=80))
    fake_intervals.add_activity(
        "i1001",
        {
            "id": "i2",
            "start_date_local": f"{today()}T18:00:00",
            "type": "Run",
            "name": "Evening Run",
            "source": "STRAVA",
        },
    )
    fake_intervals.add_activity(
        "i1001",
        {
            "id": "i3",
            "start_date_local": f"{today()}T12:00:00",
            "type": "Swim",
            "name": "Lunch swim",
            "moving_time": 1800,
            "icu_training_load": 25,
        },
    )
    old = (today() - dt.timedelta(days=5)).isoformat()
    fake_intervals.add_activity("i1001", ride(id="i4", start_date_local=f"{old}T08:00:00"))
    fake_gemini.script(error(503))

    await tasks.pull_athlete({"pool": pool, "model": model, "notify": _discard}, athlete)

    notes = {p.key: p for p in Push.select().where(Push.kind == "after_workout")}
    assert set(notes) == {"i1", "i2", "i3"}  # a ride five days ago gets no note
    # The 1h55 ride completes the two-hour endurance ride, not the 45-minute openers.
    assert (
        PlannedWorkout.get_by_id(long["id"]).completed and not PlannedWorkout.get_by_id(short["id"]).completed
    )
    assert "Compliance: 80 % of the planned TSS" in notes["i1"].text
    assert notes["i1"].text.endswith(after_workout.fallback_sentence(0.8))  # the model failed
    # A Strava stub completes the run but shows no numbers, and says why.
    assert PlannedWorkout.get_by_id(run["id"]).completed
    assert "from Strava" in notes["i2"].text and "no duration, load or power" in notes["i2"].text
    assert (
        notes["i3"].text
        == "Logged Swim 'Lunch swim': 30 min, TSS 25. It wasn't on the plan; I'll count it in your week."
    )
    assert all(p.sent_at is not None for p in notes.values()) and len(fake_gemini.requests) == 1


async def _discard(athlete_id: int, reply: Any) -> int:
    return 1


async def test_two_workers_pulling_at_once_send_each_push_once(
    db: Database,
    fake_intervals: FakeIntervals,
    fake_gemini: FakeGemini,
    fake_telegram: FakeTelegram,
    fake_slack: FakeSlack,
    pool: IntervalsPool,
    model: GeminiModel,
    notifier: Notifier,
    notifier_settings: Any,
    arq_redis: Any,
) -> None:
    athlete = await connected(fake_intervals)
    PushSettings.create(athlete=athlete, quiet_start=None, quiet_end=None)
    await workouts.create_workout(pool, athlete, planned())
    # A hard run still to come today, on a morning with a high resting HR: a recovery alert too.
    await workouts.create_workout(
        pool, athlete, planned(title="Hill sprints", type="Run", intensity="hard", time_of_day="evening")
    )
    for back in range(8):
        record = {"id": (today() - dt.timedelta(days=back)).isoformat(), "restingHR": 60 if back == 0 else 48}
        fake_intervals.add_wellness("i1001", record)
    fake_intervals.add_activity("i1001", ride(id="i5001"))
    fake_gemini.script(json_reply({"sentence": "Good work."}))
    other_pool = IntervalsPool(fake_intervals.url, timeout=2, rate=500)
    second = Notifier(notifier_settings)
    await second.start()
    workers = [
        worker_for(arq_redis, pool, model, notifier.notify),
        worker_for(arq_redis, other_pool, model, second.notify),
    ]
    try:
        for i in range(6):  # pulls from the schedule, the after-workout pull and a restart, all at once
            await arq_redis.enqueue_job("pull_athlete", athlete, _job_id=f"pull:{athlete}:{i}")
        await asyncio.gather(*(w.main() for w in workers))
    finally:
        await other_pool.aclose()
        await second.aclose()
    firsts = sorted(m["raw_text"].splitlines()[0][:30] for m in fake_telegram.sent(CHAT))
    assert firsts == ["⚠️ Recovery check: your restin", "✅ Tempo intervals (Ride) is do"]
    assert len(fake_slack.messages("D1")) == 2 and len(fake_gemini.requests) == 1


async def test_pull_shortly_after_the_planned_workout(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await connected(fake_intervals)
    day = dt.date(2026, 12, 1)
    PlannedWorkout.create(
        athlete=athlete, date=day, title="Tempo", type="Ride", time_of_day="evening", duration_minutes=90
    )
    every = dt.timedelta(minutes=10)
    # Evening is 18:00 in Berlin (17:00 UTC); 90 minutes plus 20 is 18:50 UTC.
    at = dt.datetime(2026, 12, 1, 18, 50, tzinfo=dt.UTC)
    assert await storage_db.call(after_workout.due_pulls, at, every) == [athlete]
    assert await storage_db.call(after_workout.due_pulls, at + every, every) == []
    assert await storage_db.call(after_workout.due_pulls, at - every, every) == []


async def test_no_pull_for_a_blocked_athlete(db: Database, fake_intervals: FakeIntervals) -> None:
    athlete = await connected(fake_intervals)
    day = dt.date(2026, 12, 1)
    PlannedWorkout.create(athlete=athlete, date=day, title="Tempo", type="Ride", time_of_day="evening")
    at = dt.datetime(2026, 12, 1, 18, 20, tzinfo=dt.UTC)  # 18:00 in Berlin, 60 minutes, 20 after
    every = dt.timedelta(minutes=10)
    assert await storage_db.call(after_workout.due_pulls, at, every) == [athlete]
    assert await storage_db.call(access.set_blocked, athlete, True)
    assert await storage_db.call(after_workout.due_pulls, at, every) == []
