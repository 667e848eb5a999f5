"""The weekly review: the builder's sums on a sample week, and Sunday 18:00 on a fake clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from peewee import Database

from core.access import athletes
from core.coaching import weekly_review
from core.conversation.turn import Coach
from core.messages import Incoming, Reply
from core.model.llm import GeminiModel
from core.sync.intervals import IntervalsPool
from jobs import tasks
from storage import db as storage_db
from storage.models import (
    Activity,
    PendingAction,
    PlannedWorkout,
    Push,
    PushSettings,
    WeeklyTrainingPlan,
    Wellness,
)
from tests.fakes.gemini import FakeGemini, json_reply

MONDAY, SUNDAY = dt.date(2026, 11, 23), dt.date(2026, 11, 29)
CHAT = 9901


def day(n: int) -> dt.date:
    return MONDAY + dt.timedelta(days=n)


def plan(athlete: int, on: dt.date, kind: str, minutes: int, tss: int, completed: bool = False) -> None:
    PlannedWorkout.create(
        athlete=athlete,
        date=on,
        title=f"{kind} {on}",
        type=kind,
        duration_minutes=minutes,
        tss=tss,
        completed=completed,
    )


def act(
    athlete: int,
    remote: str,
    start: str,
    kind: str,
    seconds: int | None,
    tss: int | None,
    source: str = "GARMIN_CONNECT",
) -> None:
    Activity.create(
        athlete=athlete,
        remote_id=remote,
        start_date_local=dt.datetime.fromisoformat(start),
        type=kind,
        moving_time=seconds,
        training_load=tss,
        source=source,
    )


async def sample_week() -> int:
    athlete = await athletes.identify("telegram", str(CHAT), str(CHAT), name="Wes", timezone="Europe/Berlin")
    plan(athlete, day(0), "Ride", 60, 60, completed=True)
    plan(athlete, day(2), "Run", 45, 45, completed=True)
    plan(athlete, day(4), "Ride", 90, 100)
    plan(athlete, day(5), "Rest", 1, 0)
    plan(athlete, day(6), "Swim", 30, 25, completed=True)
    plan(athlete, day(-1), "Ride", 120, 150)  # the Sunday before: not this week
    act(athlete, "i1", f"{day(0)}T07:00:00", "Ride", 3600, 62)
    act(athlete, "i2", f"{day(2)}T18:00:00", "Run", 2700, 40)
    act(athlete, "i3", f"{day(3)}T18:00:00", "Run", None, None, source="STRAVA")
    act(athlete, "i4", f"{day(6)}T09:00:00", "Swim", 1800, 28)
    act(athlete, "i5", f"{day(7)}T00:30:00", "Ride", 3600, 70)  # next week
    act(athlete, "i6", f"{day(-1)}T23:00:00", "Ride", 3600, 70)  # last week
    for on, ctl, atl in ((day(-1), 50.0, 55.0), (day(3), 51.0, 60.0), (day(6), 53.4, 49.6)):
        Wellness.create(athlete=athlete, date=on, ctl=ctl, atl=atl)
    return athlete


async def test_the_builder_sums_a_sample_week(db: Database) -> None:
    athlete = await sample_week()
    plan(athlete, day(8), "Ride", 60, 55)
    review = await storage_db.call(weekly_review.build, athlete, SUNDAY)

    assert review.planned == weekly_review.Load(4, 225, 230)
    assert review.done == weekly_review.Load(4, 135, 130)
    assert (review.completed, review.without_data) == (3, 1)
    assert round(review.compliance or 0, 3) == 0.565
    assert review.start == weekly_review.Fitness(50.0, 55.0) and review.end == weekly_review.Fitness(
        53.4, 49.6
    )
    assert review.next_week == weekly_review.Load(1, 60, 55)
    assert review.text().splitlines() == [
        "📊 Your week, Mon 23 Nov - Sun 29 Nov",
        "Planned: 4 sessions, 3h45, TSS 230",
        "Done: 4 sessions, 2h15, TSS 130 (3 of 4 planned completed); 1 from Strava without data",
        "Compliance: 57 % of the planned TSS",
        "Fitness (CTL) 50 → 53 (+3), fatigue (ATL) 55 → 50 (-5), form (TSB) -5 → 4 (+9)",
        "Next week: 1 session, 1h00, TSS 55 planned.",
    ]


def test_an_empty_week_reads_plainly() -> None:
    review = weekly_review.Review(
        MONDAY, SUNDAY, weekly_review.Load(), weekly_review.Load(), 0, 0, None, None, weekly_review.Load()
    )
    assert review.text().splitlines()[1:] == [
        "Planned: 0 sessions, 0 min, TSS 0",
        "Done: 0 sessions, 0 min, TSS 0",
        "Next week (Mon 30 Nov on) has nothing planned yet. Shall I plan it?",
    ]


async def test_sunday_at_six_pm_with_a_plan_next_week_button(
    db: Database, fake_gemini: FakeGemini, pool: IntervalsPool, set_clock: Any
) -> None:
    athlete = await sample_week()
    sent: list[Reply] = []

    async def notify(athlete_id: int, reply: Reply) -> int:
        sent.append(reply)
        return 1

    ctx = {"notify": notify}
    for moment in (
        dt.datetime(2026, 11, 28, 17, 0, tzinfo=dt.UTC),  # Saturday 18:00 in Berlin
        dt.datetime(2026, 11, 29, 16, 0, tzinfo=dt.UTC),  # Sunday 17:00
        dt.datetime(2026, 11, 29, 18, 0, tzinfo=dt.UTC),  # Sunday 19:00
    ):
        set_clock(moment)
        assert await tasks.scheduled_pushes(ctx) == 0
    set_clock(dt.datetime(2026, 11, 29, 17, 0, tzinfo=dt.UTC))  # Sunday 18:00
    assert await tasks.scheduled_pushes(ctx) == 1
    assert await tasks.scheduled_pushes(ctx) == 0  # once
    [review] = sent
    assert (
        review.text.startswith("📊 Your week, Mon 23 Nov - Sun 29 Nov") and "Compliance: 57 %" in review.text
    )
    assert [b.label for b in review.buttons] == ["Plan next week", "Not now"]

    model = GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=2.0)
    workouts = [
        {
            "date": (SUNDAY + dt.timedelta(days=n)).isoformat(),
            "workouts": [
                {
                    "title": f"Endurance {n}",
                    "type": "Ride",
                    "duration_minutes": 60,
                    "tss": 50,
                    "intensity": "easy",
                    "time_of_day": "morning",
                }
            ],
        }
        for n in (1, 3, 6)
    ]
    fake_gemini.script(json_reply({"summary": "Steady aerobic week.", "days": workouts}))
    try:
        press = Incoming("telegram", str(CHAT), str(CHAT), action=review.buttons[0].action)
        coach = Coach(model, pool)
        preview = await coach.handle(press)
        # "Plan next week" runs the usual flow: a preview first, the calendar only on "Save to calendar".
        assert preview is not None and "Total: 3 workouts, TSS 150, 3h00." in preview.text
        assert not WeeklyTrainingPlan.select().where(WeeklyTrainingPlan.athlete == athlete).exists()
        [save] = [b for b in preview.buttons if b.label == "Save to calendar"]
        await coach.handle(Incoming("telegram", str(CHAT), str(CHAT), action=save.action))
    finally:
        await model.aclose()
    plan_row = WeeklyTrainingPlan.get(WeeklyTrainingPlan.athlete == athlete)
    assert (plan_row.week_start, plan_row.week_end) == (dt.date(2026, 11, 30), dt.date(2026, 12, 6))
    assert "Plan 7 days from 2026-11-30" in fake_gemini.user_texts(0)[0]


async def test_no_button_when_next_week_is_planned(db: Database, set_clock: Any) -> None:
    athlete = await sample_week()
    plan(athlete, day(9), "Run", 40, 35)
    sent: list[Reply] = []

    async def notify(athlete_id: int, reply: Reply) -> int:
        sent.append(reply)
        return 1

    idle = await athletes.identify("telegram", "9902", "9902", name="Ida", timezone="Europe/Berlin")
    set_clock(dt.datetime(2026, 11, 29, 17, 0, tzinfo=dt.UTC))
    assert await tasks.scheduled_pushes({"notify": notify}) == 1  # Ida had an empty week: no review
    assert not Push.select().where(Push.athlete == idle).exists()
    assert sent[0].buttons == () and "Next week: 1 session, 40 min, TSS 35 planned." in sent[0].text


async def test_quiet_hours_over_sunday_evening(db: Database, set_clock: Any) -> None:
    athlete = await sample_week()
    settings = PushSettings.create(athlete=athlete, quiet_start=17, quiet_end=9)
    sent: list[Reply] = []

    async def notify(athlete_id: int, reply: Reply) -> int:
        sent.append(reply)
        return 1

    set_clock(dt.datetime(2026, 11, 29, 17, 0, tzinfo=dt.UTC))  # Sunday 18:00 in Berlin
    assert await tasks.scheduled_pushes({"notify": notify}) == 0
    # Held until Monday 09:00, a "Plan next week" would arrive expired: the review asks instead.
    assert not PendingAction.select().exists()
    set_clock(dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC))
    assert await tasks.scheduled_pushes({"notify": notify}) == 1
    [review] = sent
    assert review.buttons == () and review.text.startswith("📊 Your week, Mon 23 Nov - Sun 29 Nov")
    assert review.text.endswith("has nothing planned yet. Tell me when you want it planned.")

    # Quiet until 20:00 only: the review waits two hours and its button is still good then.
    Push.delete().execute()
    settings.quiet_start, settings.quiet_end = 18, 20
    settings.save()
    set_clock(dt.datetime(2026, 11, 29, 17, 0, tzinfo=dt.UTC))
    assert await tasks.scheduled_pushes({"notify": notify}) == 0
    assert Push.get().due_at == dt.datetime(2026, 11, 29, 19, 0)
    assert PendingAction.get().expires_at == dt.datetime(2026, 11, 29, 23, 0)  # Monday 00:00 in Berlin
    set_clock(dt.datetime(2026, 11, 29, 19, 0, tzinfo=dt.UTC))
    assert await tasks.scheduled_pushes({"notify": notify}) == 1
    assert [b.label for b in sent[1].buttons] == ["Plan next week", "Not now"]
