"""Unavailable dates and daily caps: stored, shown, enforced on writes and on generated plans."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core.conversation import context
from core.conversation.turn import Coach
from core.errors import Conflict, ValidationError
from core.planning import blackouts, workouts
from core.sync.intervals import IntervalsPool
from storage.models import PlannedWorkout, TrainingAvailability
from tests.fakes.gemini import FakeGemini, call, calls, json_reply, text
from tests.fakes.intervals import FakeIntervals
from tests.helpers.athletes import make_athlete
from tests.helpers.chat import next_weekday, pressed, said
from tests.helpers.clock import today

TODAY = today()


MONDAY = next_weekday(1)
WEDNESDAY, FRIDAY = MONDAY + dt.timedelta(days=2), MONDAY + dt.timedelta(days=4)


async def away_and_capped(coach: Coach, fake_gemini: FakeGemini) -> None:
    """The athlete tells the coach: away Wednesday to Friday, at most 45 minutes on Mondays."""
    fake_gemini.script(
        calls(
            ("update_unavailable_dates", {"action": "add", "start_date": WEDNESDAY.isoformat(),
                                          "end_date": FRIDAY.isoformat(), "reason": "work trip"}),
            ("update_training_availability", {"day_of_week": 1, "max_minutes": 45}),
        ),
        text("Noted."),
    )  # fmt: skip
    await coach.handle(said("bo", "Away Wednesday to Friday, and only 45 minutes on Mondays"))


async def test_unavailable_dates_and_caps_are_stored_and_shown(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    athlete = await make_athlete("bo", fake_intervals)
    await away_and_capped(coach, fake_gemini)
    [first, second] = fake_gemini.function_responses()
    assert first["response"]["success"] and second["response"]["success"]
    assert TrainingAvailability.get(TrainingAvailability.day_of_week == 1).max_minutes == 45

    shown = (await coach.handle(said("bo", "/availability"))).text
    assert "Mon: morning, afternoon, evening; bike; max 45 min" in shown
    assert f"- {WEDNESDAY} to {FRIDAY} (work trip)" in shown
    system = context.build(athlete, TODAY)
    assert f"**Unavailable**: {WEDNESDAY}–{FRIDAY} «work trip»" in system and "max 45 min" in system

    # Clearing the middle day splits the range; a cap of 0 lifts the limit.
    await blackouts.update_unavailable_dates(
        athlete, {"action": "remove", "start_date": (WEDNESDAY + dt.timedelta(days=1)).isoformat()}
    )
    assert [(b["start_date"], b["end_date"]) for b in blackouts.upcoming(athlete, TODAY)] == [
        (WEDNESDAY.isoformat(), WEDNESDAY.isoformat()),
        (FRIDAY.isoformat(), FRIDAY.isoformat()),
    ]
    with pytest.raises(ValidationError):
        await blackouts.update_unavailable_dates(
            athlete, {"action": "add", "start_date": FRIDAY.isoformat(), "end_date": MONDAY.isoformat()}
        )
    fake_gemini.script(call("update_training_availability", {"day_of_week": 1, "max_minutes": 0}), text("OK"))
    await coach.handle(said("bo", "No limit on Mondays any more"))
    assert TrainingAvailability.get(TrainingAvailability.day_of_week == 1).max_minutes is None


def ride(day: dt.date, minutes: int, title: str = "Ride") -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "title": title,
        "type": "Ride",
        "duration_minutes": minutes,
        "tss": minutes,
    }


async def test_a_workout_on_an_unavailable_day_or_over_the_cap_is_a_conflict(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("bo", fake_intervals)
    await away_and_capped(coach, fake_gemini)

    with pytest.raises(Conflict) as away:
        await workouts.create_workout(pool, athlete, ride(WEDNESDAY, 30))
    assert "unavailable" in away.value.warnings[0] and "work trip" in away.value.warnings[0]
    suggested = [dt.date.fromisoformat(s.split()[1]) for s in away.value.suggestions]
    assert suggested and not any(WEDNESDAY <= d <= FRIDAY for d in suggested)

    await workouts.create_workout(pool, athlete, ride(MONDAY, 30, "Short spin"))
    with pytest.raises(Conflict) as capped:
        await workouts.create_workout(pool, athlete, ride(MONDAY, 20))
    assert "limited to 45 minutes" in capped.value.warnings[0] and "makes 50" in capped.value.warnings[0]
    tuesday = (await workouts.create_workout(pool, athlete, ride(MONDAY + dt.timedelta(days=1), 60))).data
    with pytest.raises(Conflict):  # moving a workout in is the same as creating it there
        await workouts.update_workout(pool, athlete, tuesday["id"], {"date": FRIDAY.isoformat()})

    # Through the conversation: the conflict comes back with buttons, and can be overridden.
    fake_gemini.script(call("create_planned_workout", ride(MONDAY, 40, "Long Monday")), text("It clashes."))
    asked = await coach.handle(said("bo", "Add a 40 minute ride on Monday"))
    assert [b.label for b in asked.buttons] == ["Schedule anyway", "Pick another day"]
    assert PlannedWorkout.select().where(PlannedWorkout.title == "Long Monday").count() == 0
    await coach.handle(pressed("bo", asked, "Schedule anyway"))
    assert PlannedWorkout.select().where(PlannedWorkout.title == "Long Monday").count() == 1


async def test_generated_plan_keeps_off_unavailable_days_and_under_caps(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    await make_athlete("bo", fake_intervals)
    await away_and_capped(coach, fake_gemini)
    every_day = {
        "summary": "Ride every day.",
        "days": [
            {
                "date": (MONDAY + dt.timedelta(days=i)).isoformat(),
                "workouts": [
                    {"title": f"Ride {i}", "type": "Ride", "duration_minutes": 60, "tss": 55,
                     "intensity": "easy", "time_of_day": "evening"}
                ],
            }
            for i in range(7)
        ],
    }  # fmt: skip
    fake_gemini.script(
        call("generate_training_plan", {"days": 7, "start_date": MONDAY.isoformat()}), text("Shall I?")
    )
    asked = await coach.handle(said("bo", "Plan next week"))
    fake_gemini.script(json_reply(every_day), json_reply(every_day))  # the repair round changes nothing
    shown = await coach.handle(pressed("bo", asked, "Generate plan"))

    prompt = fake_gemini.user_texts()[0]
    assert f"{WEDNESDAY} Wednesday: unavailable all day" in prompt and "max 45 min" in prompt
    left_out = shown.text.split("Left out")[1]
    for i in (0, 2, 3, 4):
        assert f"'Ride {i}'" in left_out
    assert "Total: 3 workouts" in shown.text

    await coach.handle(pressed("bo", shown, "Save to calendar"))
    saved = {w.date: w for w in PlannedWorkout.select()}
    assert MONDAY not in saved and not any(WEDNESDAY <= d <= FRIDAY for d in saved)
    assert len(saved) == 3 and len(fake_intervals.events("i1001")) == 3
