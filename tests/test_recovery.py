"""Recovery alerts: signals from wellness, one alert a day on a hard day, and its three buttons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from peewee import Database

from core import clock
from core.access import athletes
from core.clock import day_of_week
from core.coaching import recovery
from core.conversation.turn import Coach
from core.messages import Incoming
from core.model.llm import GeminiModel
from core.planning import availability, blackouts, workouts
from core.sync.intervals import IntervalsPool
from jobs import tasks
from storage.models import ChatIdentity, PendingAction, PlannedWorkout, Push, PushSettings, Wellness
from tests.fakes.intervals import FakeIntervals
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.helpers.plans import SWEET_SPOT

CHAT = 8801
KEY = "key-r-0123456789"
TZ = "Europe/Berlin"


async def connected(fake: FakeIntervals, quiet: bool = False) -> int:
    athlete = await athletes.identify("telegram", str(CHAT), str(CHAT), name="Rae", timezone=TZ)
    ChatIdentity.create(athlete=athlete, platform="slack", platform_user_id="U8", chat_id="D8")
    fake.add_athlete("i1001", KEY)
    await athletes.link(athlete, "i1001", KEY)
    if not quiet:
        PushSettings.create(athlete=athlete, quiet_start=None, quiet_end=None)
    return athlete


def seed_week(fake: FakeIntervals, today: dt.date, **today_values: Any) -> None:
    """Seven ordinary days (resting HR 48, HRV 60, TSB -5), then today's record."""
    for back in range(1, 8):
        day = (today - dt.timedelta(days=back)).isoformat()
        fake.add_wellness("i1001", {"id": day, "restingHR": 48, "hrv": 60.0, "ctl": 60.0, "atl": 65.0})
    fake.add_wellness("i1001", {"id": today.isoformat(), "ctl": 60.0, "atl": 65.0, **today_values})


def hard_ride(day: dt.date, **extra: Any) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "title": "VO2max 5x4",
        "type": "Ride",
        "duration_minutes": 80,
        "tss": 95,
        "intensity": "hard",
        "time_of_day": "evening",
        **extra,
    }


@pytest.fixture
async def coach(db: Database, fake_gemini: Any, pool: IntervalsPool) -> Any:
    model = GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=2.0)
    yield Coach(model, pool)
    await model.aclose()


def press(message: dict[str, Any], label: str) -> Incoming:
    [data] = [b["callback_data"] for b in message["reply_markup"]["inline_keyboard"][0] if b["text"] == label]
    return Incoming("telegram", str(CHAT), str(CHAT), action=data)


async def test_high_resting_hr_on_a_hard_day_alerts_once_and_make_easy_syncs(
    coach: Coach,
    fake_intervals: FakeIntervals,
    fake_telegram: FakeTelegram,
    fake_slack: FakeSlack,
    notifier: Any,
    pool: IntervalsPool,
) -> None:
    athlete = await connected(fake_intervals)
    today = clock.today_in(TZ)
    seed_week(fake_intervals, today, restingHR=58)  # 21 % above 48
    wid = (await workouts.create_workout(pool, athlete, hard_ride(today))).data["id"]
    ctx = {"pool": pool, "model": None, "notify": notifier.notify}

    await tasks.pull_athlete(ctx, athlete)
    await tasks.pull_athlete(ctx, athlete)  # new wellness again: still one alert today

    [alert] = fake_telegram.sent(CHAT)
    assert "resting HR 58 bpm is 21 % above your 7-day average (48 bpm)" in alert["raw_text"]
    assert "'VO2max 5x4' (Ride, 80 min, hard)" in alert["raw_text"]
    labels = [b["text"] for b in alert["reply_markup"]["inline_keyboard"][0]]
    assert labels == ["Make today easy", "Rest today", "Keep the plan"]
    [on_slack] = fake_slack.messages("D8")
    assert "Recovery check" in on_slack["text"]

    done = await coach.handle(press(alert, "Make today easy"))
    assert (
        "Made it easy: Easy ride (instead of VO2max 5x4), 40 min" in done.text
        and done.sync_status == "synced"
    )
    row = PlannedWorkout.get_by_id(wid)
    assert (row.duration_minutes, row.intensity, row.date) == (40, "easy", today)
    [event] = fake_intervals.events("i1001")
    assert event["moving_time"] == 40 * 60 and event["icu_training_load"] == 24
    assert event["name"] == "Easy ride (instead of VO2max 5x4)"
    again = await coach.handle(press(alert, "Keep the plan"))
    assert "already answered" in again.text


async def test_rest_today_moves_it_to_the_next_free_day_that_fits(
    coach: Coach,
    fake_intervals: FakeIntervals,
    fake_telegram: FakeTelegram,
    notifier: Any,
    pool: IntervalsPool,
) -> None:
    athlete = await connected(fake_intervals)
    today = clock.today_in(TZ)
    seed_week(fake_intervals, today, hrv=45.0)  # 25 % below 60
    wid = (await workouts.create_workout(pool, athlete, hard_ride(today))).data["id"]
    blocked, busy, free = (today + dt.timedelta(days=n) for n in (1, 2, 3))
    await availability.update_availability(
        athlete, {"day_of_week": day_of_week(blocked), "morning": False, "afternoon": False, "evening": False}
    )
    await workouts.create_workout(pool, athlete, hard_ride(busy, title="Long run", type="Run"))
    await tasks.pull_athlete({"pool": pool, "model": None, "notify": notifier.notify}, athlete)

    [alert] = fake_telegram.sent(CHAT)
    assert "HRV 45 ms is 25 % below your 7-day average (60 ms)" in alert["raw_text"]
    moved = await coach.handle(press(alert, "Rest today"))
    assert f"moved to {free}" in moved.text and moved.sync_status == "synced"
    assert PlannedWorkout.get_by_id(wid).date == free
    event = next(e for e in fake_intervals.events("i1001") if e["name"] == "VO2max 5x4")
    assert event["start_date_local"].startswith(free.isoformat())


AlertOn = Callable[..., Awaitable[tuple[int, str, dict[str, Any]]]]


@pytest.fixture
def alert_on(
    fake_intervals: FakeIntervals, fake_telegram: FakeTelegram, notifier: Any, pool: IntervalsPool
) -> AlertOn:
    """A connected athlete with poor recovery today, a hard ride today (``ride``: its other fields),
    and the alert on Telegram: (athlete, workout id, alert message)."""

    async def make(**ride: Any) -> tuple[int, str, dict[str, Any]]:
        athlete = await connected(fake_intervals)
        today = clock.today_in(TZ)
        seed_week(fake_intervals, today, restingHR=58)
        wid = (await workouts.create_workout(pool, athlete, hard_ride(today, **ride))).data["id"]
        await tasks.pull_athlete({"pool": pool, "model": None, "notify": notifier.notify}, athlete)
        [alert] = fake_telegram.sent(CHAT)
        return athlete, wid, alert

    return make


async def test_make_today_easy_drops_the_steps_of_a_structured_workout(
    coach: Coach, fake_intervals: FakeIntervals, alert_on: AlertOn
) -> None:
    _, wid, alert = await alert_on(steps=SWEET_SPOT, duration_minutes=60)
    assert len(fake_intervals.events("i1001")[0]["workout_doc"]["steps"]) == 4

    done = await coach.handle(press(alert, "Make today easy"))
    assert "Made it easy: Easy ride (instead of VO2max 5x4), 30 min" in done.text
    assert done.sync_status == "synced"
    row = PlannedWorkout.get_by_id(wid)
    assert (row.duration_minutes, row.tss, row.intensity, row.steps) == (30, 18, "easy", None)
    [event] = fake_intervals.events("i1001")
    assert event["moving_time"] == 30 * 60 and "workout_doc" not in event


async def test_make_today_easy_can_be_undone_here_and_in_intervals(
    coach: Coach, fake_intervals: FakeIntervals, alert_on: AlertOn
) -> None:
    _, wid, alert = await alert_on(steps=SWEET_SPOT, duration_minutes=60)
    await coach.handle(press(alert, "Make today easy"))
    assert "workout_doc" not in fake_intervals.events("i1001")[0]

    offer = await coach.handle(Incoming("telegram", str(CHAT), str(CHAT), text="/undo"))
    assert offer is not None and "VO2max 5x4" in offer.text
    [undo] = [b for b in offer.buttons if b.label == "Undo"]
    undone = await coach.handle(Incoming("telegram", str(CHAT), str(CHAT), action=undo.action))
    assert undone is not None and undone.sync_status == "synced"
    row = PlannedWorkout.get_by_id(wid)
    assert (row.title, row.duration_minutes, row.intensity) == ("VO2max 5x4", 60, "hard")
    assert row.steps is not None
    [event] = fake_intervals.events("i1001")
    assert event["name"] == "VO2max 5x4" and event["moving_time"] == 60 * 60
    assert len(event["workout_doc"]["steps"]) == 4  # the structured workout is back on the head unit


async def test_make_today_easy_on_a_day_since_marked_unavailable(
    coach: Coach, fake_intervals: FakeIntervals, alert_on: AlertOn
) -> None:
    athlete, wid, alert = await alert_on()
    today = clock.today_in(TZ)
    await blackouts.update_unavailable_dates(
        athlete, {"action": "add", "start_date": today.isoformat(), "reason": "travel"}
    )

    done = await coach.handle(press(alert, "Make today easy"))
    # The athlete chose to train easy today: done, with the clash named rather than refused.
    assert "Made it easy: Easy ride (instead of VO2max 5x4), 40 min" in done.text
    assert f"You are unavailable on {today}" in done.text and done.sync_status == "synced"
    assert PlannedWorkout.get_by_id(wid).intensity == "easy"
    assert fake_intervals.events("i1001")[0]["moving_time"] == 40 * 60


async def test_rest_today_skips_unavailable_dates_and_daily_limits(
    coach: Coach, fake_intervals: FakeIntervals, alert_on: AlertOn
) -> None:
    athlete, wid, alert = await alert_on()
    today = clock.today_in(TZ)
    away, capped, free = (today + dt.timedelta(days=n) for n in (1, 2, 3))
    await blackouts.update_unavailable_dates(
        athlete, {"action": "add", "start_date": away.isoformat(), "reason": "travel"}
    )
    await availability.update_availability(athlete, {"day_of_week": day_of_week(capped), "max_minutes": 60})

    moved = await coach.handle(press(alert, "Rest today"))
    assert f"moved to {free}" in moved.text and moved.sync_status == "synced"
    assert PlannedWorkout.get_by_id(wid).date == free
    [event] = fake_intervals.events("i1001")
    assert event["start_date_local"].startswith(free.isoformat())


async def test_no_alert_that_quiet_hours_would_hold_past_its_day(
    db: Database, fake_intervals: FakeIntervals, coach: Coach, set_clock: Any
) -> None:
    athlete = await connected(fake_intervals, quiet=True)  # quiet 22:00-07:00
    first, second = dt.date(2026, 12, 1), dt.date(2026, 12, 2)
    for day in (first, second):
        for back in range(0, 8):
            Wellness.get_or_create(
                athlete=athlete, date=day - dt.timedelta(days=back), defaults={"resting_hr": 48}
            )
        Wellness.update(resting_hr=60).where(Wellness.date == day).execute()
        PlannedWorkout.create(athlete=athlete, **{**hard_ride(day), "date": day})

    # A pull at 22:07 finds a signal, but the alert could only go at 07:00, about yesterday.
    assert not await recovery.check(athlete, dt.datetime(2026, 12, 1, 21, 7, tzinfo=dt.UTC))
    assert not Push.select().exists() and not PendingAction.select().exists()

    # A pull at 05:00 is held too, but only until 07:00 of the day it is about.
    assert await recovery.check(athlete, dt.datetime(2026, 12, 2, 4, 0, tzinfo=dt.UTC))
    push = Push.get()
    assert (push.key, push.due_at) == (second.isoformat(), dt.datetime(2026, 12, 2, 6, 0))
    assert PendingAction.get().expires_at == dt.datetime(2026, 12, 2, 23, 0)  # midnight in Berlin
    sent: list[Any] = []

    async def notify(athlete_id: int, reply: Any) -> int:
        sent.append(reply)
        return 1

    set_clock(dt.datetime(2026, 12, 2, 6, 0, tzinfo=dt.UTC))
    assert await tasks.deliver_pushes({"notify": notify}) == 1
    [keep] = [b.action for b in sent[0].buttons if b.label == "Keep the plan"]
    kept = await coach.handle(Incoming("telegram", str(CHAT), str(CHAT), action=keep))
    assert "the plan stays" in kept.text


async def test_keep_the_plan_changes_nothing(
    coach: Coach,
    fake_intervals: FakeIntervals,
    fake_telegram: FakeTelegram,
    notifier: Any,
    pool: IntervalsPool,
) -> None:
    athlete = await connected(fake_intervals)
    today = clock.today_in(TZ)
    seed_week(fake_intervals, today, atl=95.0)  # TSB -35
    await workouts.create_workout(pool, athlete, hard_ride(today))
    await tasks.pull_athlete({"pool": pool, "model": None, "notify": notifier.notify}, athlete)
    [alert] = fake_telegram.sent(CHAT)
    assert "form (TSB) is -35, below -30" in alert["raw_text"]
    before = fake_intervals.events("i1001")
    kept = await coach.handle(press(alert, "Keep the plan"))
    assert "the plan stays" in kept.text and fake_intervals.events("i1001") == before


async def test_no_alert_without_a_hard_workout_or_a_signal_or_when_off(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool, coach: Coach
) -> None:
    athlete = await connected(fake_intervals)
    today = clock.today_in(TZ)
    seed_week(fake_intervals, today, restingHR=60)
    easy = (await workouts.create_workout(pool, athlete, hard_ride(today, intensity="easy", tss=40))).data[
        "id"
    ]
    ctx = {"pool": pool, "model": None, "notify": _discard}
    await tasks.pull_athlete(ctx, athlete)
    assert not Push.select().where(Push.kind == "recovery").exists()  # nothing hard today

    await workouts.update_workout(pool, athlete, easy, {"intensity": "very_hard", "tss": 110})
    await coach.handle(Incoming("telegram", str(CHAT), str(CHAT), text="/notify recovery off"))
    await tasks.pull_athlete(ctx, athlete)
    assert not Push.select().where(Push.kind == "recovery").exists()  # turned off

    await coach.handle(Incoming("telegram", str(CHAT), str(CHAT), text="/notify recovery on"))
    Wellness.update(resting_hr=50).where(Wellness.date == today).execute()
    fake_intervals.add_wellness("i1001", {"id": today.isoformat(), "restingHR": 50})
    await tasks.pull_athlete(ctx, athlete)
    assert not Push.select().where(Push.kind == "recovery").exists()  # 4 % above average: fine


async def _discard(athlete_id: int, reply: Any) -> int:
    return 1


def test_signals_and_hardness() -> None:
    week = [Wellness(resting_hr=50, hrv=70.0) for _ in range(2)]
    today = Wellness(resting_hr=70, hrv=20.0, ctl=50.0, atl=90.0)
    limits = recovery.Thresholds()
    # Two days are too few for an average; form needs none.
    assert recovery.signals(today, week, limits) == ["form (TSB) is -40, below -30"]
    week.append(Wellness(resting_hr=50, hrv=70.0))
    assert len(recovery.signals(today, week, limits)) == 3
    assert recovery.signals(today, week, recovery.Thresholds(50, 80, -50)) == []
    assert recovery.is_hard(PlannedWorkout(intensity=None, tss=90, duration_minutes=60))  # IF 0.95
    assert not recovery.is_hard(PlannedWorkout(intensity=None, tss=180, duration_minutes=180))  # IF 0.77
    assert not recovery.is_hard(PlannedWorkout(intensity="moderate", tss=90, duration_minutes=60))
    easy = recovery.easy_version(PlannedWorkout(type="Run", title="Intervals", duration_minutes=75))
    assert easy["duration_minutes"] == 37 and easy["intensity"] == "easy"


async def test_morning_check_comes_before_the_morning_message(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool, set_clock: Any
) -> None:
    athlete = await connected(fake_intervals, quiet=True)
    day = dt.date(2026, 12, 1)
    for back in range(0, 8):
        Wellness.create(athlete=athlete, date=day - dt.timedelta(days=back), resting_hr=48 if back else 60)
    PlannedWorkout.create(athlete=athlete, **{**hard_ride(day), "date": day})
    sent: list[Any] = []

    async def notify(athlete_id: int, reply: Any) -> int:
        sent.append(reply)
        return 1

    set_clock(dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.UTC))  # 06:00 in Berlin
    assert await tasks.scheduled_pushes({"notify": notify}) == 0
    set_clock(dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC))  # 07:00: quiet hours end
    assert await tasks.scheduled_pushes({"notify": notify}) == 2
    assert "Recovery check" in sent[0].text and len(sent[0].buttons) == 3
    assert sent[1].text.startswith("Good morning!")


def test_thresholds_are_settings() -> None:
    from core.config import load_settings
    from core.errors import ConfigError

    settings = load_settings(recovery_resting_hr_pct=8, recovery_hrv_pct=20, recovery_tsb=-25)
    assert recovery.Thresholds.from_settings(settings) == recovery.Thresholds(8, 20, -25)
    with pytest.raises(ConfigError, match="RECOVERY_TSB"):
        load_settings(recovery_tsb=10)
