"""Background jobs on a real redis-server through arq's Worker, with the fake Intervals.icu."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.worker import Worker
from peewee import Database

from core.messages import Reply
from core.planning import workouts
from core.sync import outbox as sync
from core.sync import resync
from core.sync.intervals import IntervalsPool
from jobs import tasks
from jobs.enqueue import retry_scheduler
from jobs.worker import WorkerSettings
from storage import db as storage_db
from storage.models import PlannedWorkout, SyncQueue, utcnow
from tests.fakes.intervals import FakeIntervals
from tests.helpers.athletes import make_athlete
from tests.helpers.clock import today
from tests.helpers.plans import generations_used

SOON = today() + dt.timedelta(days=3)


def ride(day: dt.date = SOON, title: str = "Tempo") -> dict[str, Any]:
    return {"date": day.isoformat(), "title": title, "type": "Ride", "duration_minutes": 60, "tss": 60}


class Inbox:
    """Collects pushed notices (the real notifier is exercised with the fake Telegram server)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, Reply]] = []

    async def __call__(self, athlete_id: int, reply: Reply) -> int:
        self.sent.append((athlete_id, reply))
        return 1


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def worker(
    db: Database, arq_redis: Any, pool: IntervalsPool, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Worker]:
    monkeypatch.setattr(sync, "BACKOFF_SECONDS", (0.05, 0.1))
    sync.hooks.schedule_retry = retry_scheduler(arq_redis)
    ctx = {"pool": pool, "model": None, "notify": inbox}
    w = Worker(
        functions=WorkerSettings.functions,
        redis_pool=arq_redis,
        burst=True,
        poll_delay=0.05,
        ctx=ctx,
        handle_signals=False,
    )
    yield w
    sync.hooks.schedule_retry = None  # the arq_redis fixture closes the shared pool


async def test_outage_heals_with_one_retry(
    worker: Worker, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("ann", fake_intervals)
    fake_intervals.fail_next(1, "500")
    result = await workouts.create_workout(pool, athlete, ride())
    assert result.sync_status == "pending"

    await asyncio.sleep(0.1)  # the deferred retry comes due
    await worker.main()

    [event] = fake_intervals.events("i1001")
    row = PlannedWorkout.get_by_id(result.data["id"])
    assert row.sync_status == "SYNCED" and row.remote_event_id == event["id"]
    posts = [r.status for r in fake_intervals.requests if r.method == "POST"]
    assert posts == [500, 200]


async def test_offline_create_update_delete_sends_nothing(
    worker: Worker, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("ben", fake_intervals)
    offline = IntervalsPool("http://127.0.0.1:9", timeout=0.5)  # nothing listens on the discard port
    try:
        created = await workouts.create_workout(offline, athlete, ride())
        await workouts.update_workout(offline, athlete, created.data["id"], {"tss": 80})
        deleted = await workouts.delete_workout(offline, athlete, created.data["id"])
    finally:
        await offline.aclose()
    assert deleted.sync_status is None  # nothing left to tell Intervals.icu

    await asyncio.sleep(0.2)
    await worker.main()
    await tasks.drain_sync_queue(worker.ctx)

    assert fake_intervals.requests == [] and fake_intervals.events("i1001") == []
    assert not SyncQueue.select().where(SyncQueue.status != "COMPLETED").exists()


def _queue_many(athlete_id: int, n: int) -> list[str]:
    ids = []
    with storage_db.transaction():
        for i in range(n):
            row = PlannedWorkout.create(
                athlete=athlete_id,
                date=SOON + dt.timedelta(days=i % 10),
                title=f"W{i}",
                type="Run",
                time_of_day=("morning", "afternoon", "evening")[i % 3],
                sync_status="PENDING",
            )
            sync.enqueue(athlete_id, row.id, "create", {"date": row.date.isoformat()})
            ids.append(row.id)
    return ids


async def test_two_workers_with_faults_leave_each_event_once(
    db: Database, fake_intervals: FakeIntervals, inbox: Inbox
) -> None:
    athlete = await make_athlete("cat", fake_intervals)
    ids = await storage_db.call(_queue_many, athlete, 500)
    # A worker crashed holding these: their claims have expired.
    SyncQueue.update(claimed_by="dead-worker", claim_expires_at=utcnow() - dt.timedelta(seconds=1)).where(
        SyncQueue.entity_id.in_(ids[:20])
    ).execute()
    fake_intervals.faults(0.08, ("500", "429", "drop", "apply_then_drop", "timeout"), seed=7)
    pools = [IntervalsPool(fake_intervals.url, timeout=0.3, rate=1000) for _ in range(2)]

    async def work(p: IntervalsPool) -> None:
        ctx = {"pool": p, "notify": inbox}
        while await storage_db.call(sync.due, 1):
            await tasks.drain_sync_queue(ctx)
            await asyncio.sleep(0)

    try:
        for _ in range(5):
            await asyncio.gather(*(work(p) for p in pools))
            counts = await storage_db.call(resync.open_counts, athlete)
            if not counts["failed"] and not counts["pending"]:
                break
            await resync.retry_athlete(pools[0], athlete)  # the athlete's "Retry now"
    finally:
        for p in pools:
            await p.aclose()

    events = fake_intervals.events("i1001")
    per_workout: dict[str, int] = {}
    for event in events:
        per_workout[event["external_id"]] = per_workout.get(event["external_id"], 0) + 1
    assert len(events) == 500 and set(per_workout.values()) == {1}
    assert PlannedWorkout.select().where(PlannedWorkout.sync_status != "SYNCED").count() == 0
    assert fake_intervals.rate_limited == 0


async def test_a_pull_takes_in_remote_edits_and_deletions(
    worker: Worker, fake_intervals: FakeIntervals, pool: IntervalsPool, inbox: Inbox, arq_redis: Any
) -> None:
    athlete = await make_athlete("dan", fake_intervals)
    edited = (await workouts.create_workout(pool, athlete, ride(title="Tempo"))).data["id"]
    gone = (await workouts.create_workout(pool, athlete, ride(SOON + dt.timedelta(days=1), "Gone"))).data[
        "id"
    ]
    clash = (await workouts.create_workout(pool, athlete, ride(SOON + dt.timedelta(days=2), "Mine"))).data[
        "id"
    ]
    remote = pool.client("i1001", "key-a-0123456789")
    rows = {w: PlannedWorkout.get_by_id(w).remote_event_id for w in (edited, gone, clash)}
    # The athlete edits and deletes in Intervals.icu's own calendar...
    await remote.update_event(rows[edited], {"name": "Tempo (shorter)", "moving_time": 45 * 60})
    await remote.delete_event(rows[gone])
    await remote.update_event(rows[clash], {"name": "Changed there"})
    fake_intervals.add_event(
        "i1001",
        {"category": "WORKOUT", "start_date_local": f"{SOON}T09:00:00", "name": "Club ride", "type": "Ride"},
    )
    # ...while a local change of "Mine" waits to sync.
    fake_intervals.fail_next(1, "500")
    await workouts.update_workout(pool, athlete, clash, {"title": "Mine, longer", "duration_minutes": 90})

    await arq_redis.enqueue_job("pull_athlete", athlete)
    await worker.main()

    row = PlannedWorkout.get_by_id(edited)
    assert row.title == "Tempo (shorter)" and row.duration_minutes == 45
    assert PlannedWorkout.get_or_none(PlannedWorkout.id == gone) is None
    mirrored = PlannedWorkout.get(PlannedWorkout.origin == "intervals")
    assert mirrored.title == "Club ride"
    assert PlannedWorkout.get_by_id(clash).title == "Mine, longer"
    [(who, notice)] = inbox.sent
    assert (
        who == athlete and "'Mine, longer'" in notice.text and "kept the change you made here" in notice.text
    )
    # The kept local change reaches Intervals.icu with the retry.
    assert any(e["name"] == "Mine, longer" for e in fake_intervals.events("i1001"))


CHAT = 5151


@pytest.fixture
async def telegram_notify(fake_telegram: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    """The real notifier, pointed at the fake Telegram server."""
    from bot.notifier import Notifier
    from core.config import load_settings

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake_telegram.token)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", fake_telegram.url)
    notifier = Notifier(load_settings())
    await notifier.start()
    yield notifier.notify
    await notifier.aclose()


async def telegram_athlete(fake_intervals: FakeIntervals) -> int:
    from core.access import athletes

    athlete = await athletes.identify("telegram", str(CHAT), str(CHAT), name="Ann")
    fake_intervals.add_athlete("i1001", "key-a-0123456789")
    await athletes.link(athlete, "i1001", "key-a-0123456789")
    return athlete


@pytest.fixture
async def coach(db: Database, fake_gemini: Any, pool: IntervalsPool, arq_redis: Any) -> AsyncIterator[Any]:
    from core.conversation.turn import Coach
    from core.model.llm import GeminiModel
    from jobs.enqueue import plan_runner

    model = GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=2.0)
    yield Coach(model, pool, plan_runner=plan_runner(arq_redis))
    await model.aclose()


def press(reply_markup: dict[str, Any], label: str) -> Any:
    from core.messages import Incoming

    [data] = [b["callback_data"] for b in reply_markup["inline_keyboard"][0] if b["text"] == label]
    return Incoming("telegram", str(CHAT), str(CHAT), action=data)


async def test_three_failures_push_a_retry_button_that_syncs(
    worker: Worker,
    coach: Any,
    fake_intervals: FakeIntervals,
    fake_telegram: Any,
    telegram_notify: Any,
    pool: IntervalsPool,
) -> None:
    worker.ctx["notify"] = telegram_notify
    athlete = await telegram_athlete(fake_intervals)
    fake_intervals.fail_next(3, "500")
    wid = (await workouts.create_workout(pool, athlete, ride(title="Hill repeats"))).data["id"]

    await worker.main()

    row = PlannedWorkout.get_by_id(wid)
    assert row.sync_status == "FAILED" and fake_intervals.events("i1001") == []
    [notice] = fake_telegram.sent(CHAT)
    assert "'Hill repeats'" in notice["raw_text"] and "after 3 tries" in notice["raw_text"]
    assert [b["text"] for b in notice["reply_markup"]["inline_keyboard"][0]] == ["Retry now"]

    await worker.main()  # nothing more is retried on its own, and no second notice
    assert len(fake_telegram.sent(CHAT)) == 1

    reply = await coach.handle(press(notice["reply_markup"], "Retry now"))
    assert "1 synced" in reply.text
    assert PlannedWorkout.get_by_id(wid).sync_status == "SYNCED" and len(fake_intervals.events("i1001")) == 1


async def test_revoked_key_is_told_once(
    worker: Worker,
    fake_intervals: FakeIntervals,
    fake_telegram: Any,
    telegram_notify: Any,
    pool: IntervalsPool,
    arq_redis: Any,
) -> None:
    worker.ctx["notify"] = telegram_notify
    athlete = await telegram_athlete(fake_intervals)
    fake_intervals.revoke_key("key-a-0123456789")
    await workouts.create_workout(pool, athlete, ride())
    await workouts.create_workout(pool, athlete, ride(SOON + dt.timedelta(days=1), "Second"))
    await tasks.drain_sync_queue(worker.ctx)
    await tasks.check_credentials(worker.ctx)
    await arq_redis.enqueue_job("pull_athlete", athlete)
    await worker.main()
    [notice] = fake_telegram.sent(CHAT)
    assert "no longer accepts your API key" in notice["raw_text"] and "/connect" in notice["raw_text"]


def _plan(days: list[tuple[dt.date, str]]) -> dict[str, Any]:
    return {
        "summary": "Aerobic base with one gym day.",
        "days": [
            {
                "date": d.isoformat(),
                "workouts": [
                    {
                        "title": f"{kind} day",
                        "type": kind,
                        "duration_minutes": 60,
                        "tss": 50,
                        "intensity": "easy",
                        "time_of_day": "morning",
                    }
                ],
            }
            for d, kind in days
        ],
    }


@pytest.fixture
async def planner(worker: Worker, fake_gemini: Any, telegram_notify: Any) -> AsyncIterator[Worker]:
    """The worker with a model (the fake Gemini) and the real notifier (the fake Telegram)."""
    from core.model.llm import GeminiModel

    worker.ctx["notify"] = telegram_notify
    worker.ctx["model"] = GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=2.0)
    yield worker
    await worker.ctx["model"].aclose()


async def generate(coach: Any, fake_gemini: Any, words: str, args: dict[str, Any]) -> Reply:
    """The athlete asks for a plan in ``words``, the model offers it, the athlete presses "Generate plan"."""
    from tests.fakes.gemini import call, text

    fake_gemini.script(call("generate_training_plan", args), text(f"Generate a {args['days']}-day plan?"))
    asked = await coach.handle(press_text(words))
    markup = {"inline_keyboard": [[{"text": b.label, "callback_data": b.action} for b in asked.buttons]]}
    return await coach.handle(press(markup, "Generate plan"))


async def test_plan_generation_job(
    planner: Worker,
    coach: Any,
    fake_intervals: FakeIntervals,
    fake_gemini: Any,
    fake_telegram: Any,
    pool: IntervalsPool,
) -> None:
    from core.clock import day_of_week
    from core.planning import availability
    from storage.models import WeeklyTrainingPlan
    from tests.fakes.gemini import json_reply

    worker = planner
    athlete = await telegram_athlete(fake_intervals)
    start = today() + dt.timedelta(days=1)
    no_bike = start + dt.timedelta(days=1)
    await availability.update_availability(
        athlete, {"day_of_week": day_of_week(no_bike), "bike_access": False}
    )
    old = (
        await workouts.create_workout(pool, athlete, ride(start + dt.timedelta(days=2), "Old plan ride"))
    ).data["id"]
    fake_intervals.add_event(
        "i1001",
        {"category": "WORKOUT", "start_date_local": f"{start}T18:00:00", "name": "Club run", "type": "Run"},
    )
    await tasks.pull_athlete(worker.ctx, athlete)  # mirrors the club run, read-only

    queued = await generate(coach, fake_gemini, "Plan my week", {"days": 7, "focus": "endurance"})
    assert "Generating your 7-day plan" in queued.text

    # The first plan rides on the day without a bike; it is sent back and fixed.
    fake_gemini.script(
        json_reply(_plan([(start, "Run"), (no_bike, "Ride"), (start + dt.timedelta(days=3), "Ride")])),
        json_reply(_plan([(start, "Swim"), (no_bike, "Run"), (start + dt.timedelta(days=3), "Ride")])),
    )
    before = len(fake_intervals.requests)
    await worker.main()

    assert "broke these rules" in fake_gemini.user_texts()[0] or "broke these rules" in str(
        fake_gemini.requests[-1]
    )
    preview = fake_telegram.sent(CHAT)[-1]
    assert "Total: 3 workouts, TSS 150, 3h00." in preview["raw_text"]
    labels = [b["text"] for b in preview["reply_markup"]["inline_keyboard"][0]]
    assert labels == ["Save to calendar", "Regenerate", "Cancel"]
    # Nothing is written anywhere until the athlete saves.
    assert fake_intervals.requests[before:] == []
    assert WeeklyTrainingPlan.select().count() == 0
    assert {e["name"] for e in fake_intervals.events("i1001")} == {"Old plan ride", "Club run"}

    saved = await coach.handle(press(preview["reply_markup"], "Save to calendar"))
    assert "Saved your 7-day plan: 3 workouts, total TSS 150" in saved.text and "Synced" in saved.text
    stale = await coach.handle(press(preview["reply_markup"], "Regenerate"))
    assert stale.text == "You already answered that one."

    plan_row = WeeklyTrainingPlan.get(WeeklyTrainingPlan.status == "ACTIVE")
    assert plan_row.workout_count == 3 and plan_row.total_tss == 150
    titles = {w.title: w for w in PlannedWorkout.select()}
    assert "Old plan ride" not in titles and "Club run" in titles and titles["Club run"].origin == "intervals"
    assert titles["Run day"].date == no_bike and PlannedWorkout.get_or_none(PlannedWorkout.id == old) is None
    sent = fake_intervals.requests[before:]
    # The replaced workout leaves in one bulk delete, the plan arrives in one bulk create.
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in sent] == [("PUT", "bulk-delete"), ("POST", "bulk")]
    [bulk] = [r for r in sent if r.method == "POST"]
    assert bulk.path.endswith("/events/bulk") and {e["name"] for e in bulk.body} == {
        "Swim day",
        "Run day",
        "Ride day",
    }
    assert {e["name"] for e in fake_intervals.events("i1001")} == {
        "Swim day",
        "Run day",
        "Ride day",
        "Club run",
    }

    # Ten confirmed generations in the last hour: the next is refused.
    generations_used(athlete, 10)
    refused = await generate(coach, fake_gemini, "Another plan", {"days": 3})
    assert "10 plans in the last hour" in refused.text


async def test_the_workers_preview_joins_the_conversation(
    planner: Worker, coach: Any, fake_intervals: FakeIntervals, fake_gemini: Any, fake_telegram: Any
) -> None:
    from storage.models import ConversationTurn
    from tests.fakes.gemini import json_reply, text

    athlete = await telegram_athlete(fake_intervals)
    await generate(coach, fake_gemini, "Plan my days", {"days": 3})
    fake_gemini.script(json_reply(_plan([(SOON, "Run")])))
    await planner.main()

    preview = fake_telegram.sent(CHAT)[-1]
    assert "Run day" in preview["raw_text"]
    last = (
        ConversationTurn.select()
        .where(ConversationTurn.athlete == athlete)
        .order_by(ConversationTurn.id.desc())
    )
    [turn] = last.limit(1)
    assert turn.role == "model" and turn.content["parts"][0]["text"].startswith("Your 3-day plan (")
    assert "Run day (Run, 60 min, TSS 50)" in turn.content["parts"][0]["text"]

    # The athlete's answer to the preview reaches the model with the preview before it.
    fake_gemini.script(text("Sure."))
    await coach.handle(press_text("Make the run shorter"))
    contents = fake_gemini.last_request()["contents"]
    assert [c["role"] for c in contents[-3:]] == ["model", "model", "user"]
    assert "Run day (Run, 60 min, TSS 50)" in contents[-2]["parts"][0]["text"]


async def test_a_plan_job_for_an_erased_athlete_ends_quietly(
    planner: Worker,
    arq_redis: Any,
    fake_gemini: Any,
    fake_intervals: FakeIntervals,
    fake_telegram: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from core.access import erase
    from core.planning import plans

    athlete = await telegram_athlete(fake_intervals)
    request = plans.PlanRequest(athlete, 3, SOON, "base")
    job = await arq_redis.enqueue_job("generate_weekly_plan", athlete, request.to_payload())
    await erase.erase(athlete)
    caplog.set_level(logging.INFO)
    await planner.main()

    assert job is not None and await job.result(timeout=5) == "gone"
    assert fake_telegram.sent(CHAT) == [] and fake_gemini.requests == []
    said = [r for r in caplog.records if r.name == "jobs.tasks"]
    assert len(said) == 1 and "erased" in said[0].getMessage()
    assert not any(r.exc_info for r in caplog.records) and "Traceback" not in caplog.text


def press_text(words: str) -> Any:
    from core.messages import Incoming

    return Incoming("telegram", str(CHAT), str(CHAT), text=words)


async def test_daily_message_in_the_athletes_morning(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool, inbox: Inbox, coach: Any, set_clock: Any
) -> None:
    from core.coaching import notices
    from storage.models import Athlete

    athlete = await telegram_athlete(fake_intervals)
    PlannedWorkout.create(
        athlete=athlete, date=dt.date(2026, 12, 1), title="Easy spin", type="Ride", duration_minutes=45
    )
    six_utc = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)  # 07:00 in Berlin
    Athlete.update(timezone="Europe/Berlin").where(Athlete.id == athlete).execute()
    ctx = {"notify": inbox}
    set_clock(six_utc - dt.timedelta(hours=1))  # 06:00 there, in quiet hours
    assert await tasks.scheduled_pushes(ctx) == 0
    set_clock(six_utc)
    assert await tasks.scheduled_pushes(ctx) == 1
    [(who, morning)] = inbox.sent
    assert who == athlete and "Easy spin (Ride, 45 min)" in morning.text
    assert await tasks.scheduled_pushes(ctx) == 0  # once a day
    assert not await notices.daily(athlete, six_utc + dt.timedelta(days=1))  # nothing planned

    off = await coach.handle(press_text("/daily off"))
    assert "🔕 morning" in off.text
    PlannedWorkout.create(athlete=athlete, date=dt.date(2026, 12, 8), title="Tempo", type="Ride")
    set_clock(six_utc + dt.timedelta(days=7))
    assert await tasks.scheduled_pushes(ctx) == 0 and len(inbox.sent) == 1
