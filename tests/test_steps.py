"""Structured workouts: checks, duration and TSS from the steps, and the workout text they become."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from peewee import Database

from core.conversation import context
from core.errors import ValidationError
from core.fields import WorkoutStep
from core.planning import steps, workouts
from core.sync import pull
from core.sync.intervals import IntervalsPool
from core.sync.workout_text import outline, render
from storage.models import PlannedWorkout
from tests.fakes.intervals import FakeIntervals
from tests.helpers.athletes import make_athlete
from tests.helpers.clock import today
from tests.helpers.plans import SWEET_SPOT

DAY = (today() + dt.timedelta(days=2)).isoformat()

SEATED: dict[str, Any] = {
    "date": DAY,
    "title": "Sweet spot",
    "type": "Ride",
    "description": "Stay seated.",
    "steps": SWEET_SPOT,
}
TEMPO_RUN: list[dict[str, Any]] = [
    {"kind": "warmup", "minutes": 10, "hr_zone": 1},
    {"kind": "interval", "distance_km": 5, "pace": "4:30"},
    {"kind": "steady", "minutes": 8, "lthr_percent": 85},
]


def parsed(raw: list[dict[str, Any]]) -> list[WorkoutStep]:
    return [WorkoutStep.model_validate(s) for s in raw]


def test_steps_give_duration_tss_and_workout_text() -> None:
    measured = steps.measure(parsed(SWEET_SPOT), "Ride", 60)
    assert measured.minutes == 60
    # 10 min at IF 0.6, 30 at 0.9, 15 at 0.55, 5 at 0.5
    assert measured.tss == round((10 * 0.36 + 30 * 0.81 + 15 * 0.3025 + 5 * 0.25) / 60 * 100)
    assert render(SWEET_SPOT, "Ride") == (
        "- Warmup 10m ramp 50-70%\n\n3x\n- 10m 90%\n- Recovery 5m 55%\n\n- Cooldown 5m 50%"
    )
    assert outline(SWEET_SPOT, "Ride") == "10m ramp 50-70%, 3x(10m 90%, 5m 55%), 5m 50%"
    run = steps.measure(parsed(TEMPO_RUN), "Run", None)
    assert run.minutes == round(10 + 5 * 4.5 + 8)  # 5 km at 4:30/km
    assert render(TEMPO_RUN, "Run") == "- Warmup 10m Z1 HR\n- 5km 4:30/km Pace\n- 8m 85% LTHR"


@pytest.mark.parametrize(
    ("sport", "raw", "duration", "problem"),
    [
        ("Run", [{"kind": "steady", "minutes": 30, "power_percent": 70}], 30, "never power"),
        ("Ride", [{"kind": "steady", "minutes": 90, "power_percent": 70}], 60, "add up to 90 minutes"),
        ("Ride", [{"kind": "steady", "distance_km": 20, "power_percent": 70}], None, "distance steps"),
        ("Ride", [{"kind": "steady", "minutes": 20}], None, "exactly one target"),
        ("Ride", [{"kind": "ramp", "minutes": 20, "power_percent": 50}], None, "a ramp needs"),
        ("Run", [{"kind": "steady", "minutes": 20, "pace": "1:10"}], None, "not realistic"),
        ("Gym", [{"kind": "steady", "minutes": 20, "hr_zone": 2}], None, "not Gym"),
        ("Ride", [{"kind": "repeat", "repeat": 3}], None, "needs repeat"),
    ],
)
def test_bad_steps_are_refused(
    sport: str, raw: list[dict[str, Any]], duration: int | None, problem: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        steps.measure(parsed(raw), sport, duration)
    assert problem in caught.value.user_message


async def test_structured_workout_reaches_intervals_as_workout_text(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("sia", fake_intervals)
    created = await workouts.create_workout(pool, athlete, {**SEATED, "duration_minutes": 60, "tss": 5})
    row = PlannedWorkout.get_by_id(created.data["id"])
    assert row.duration_minutes == 60 and row.tss == steps.measure(parsed(SWEET_SPOT), "Ride", 60).tss
    assert row.description == "Stay seated."
    [event] = fake_intervals.events("i1001")
    assert event["description"].startswith("Stay seated.\n\n- Warmup 10m ramp 50-70%")
    assert len(event["workout_doc"]["steps"]) == 4 and event["moving_time"] == 3600
    system = context.build(athlete, today())
    assert "Ride | 60min | TSS" in system and "main set 3x(10m 90%, 5m 55%) | «Stay seated.»" in system

    # Longer intervals without new steps would disagree with them: refused, nothing changes.
    with pytest.raises(ValidationError):
        await workouts.update_workout(pool, athlete, row.id, {"duration_minutes": 90})
    await workouts.update_workout(pool, athlete, row.id, {"steps": [], "description": "Free ride, 90 min."})
    [event] = fake_intervals.events("i1001")
    assert event["description"] == "Free ride, 90 min." and "workout_doc" not in event

    # A hand-written description is sent exactly as written.
    own = "My own plan:\n- spin easy\n- sprint at the sign"
    await workouts.create_workout(
        pool, athlete, {"date": DAY, "title": "Mine", "type": "Run", "description": own}
    )
    assert any(e["description"] == own for e in fake_intervals.events("i1001"))


async def test_a_pull_keeps_our_workout_text_apart_and_takes_an_edit_there_as_written(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("sia", fake_intervals)
    wid = (await workouts.create_workout(pool, athlete, SEATED)).data["id"]
    await pull.pull(pool, athlete)
    row = PlannedWorkout.get_by_id(wid)
    assert row.description == "Stay seated." and row.steps == steps.apply(SEATED)["steps"]

    # The athlete rewrites the workout in Intervals.icu's builder: their text wins, as written.
    edited = "Stay seated.\n\n- 20m 60%\n- 40m 75%"
    await pool.client("i1001", "key-a-0123456789").update_event(row.remote_event_id, {"description": edited})
    await pull.pull(pool, athlete)
    row = PlannedWorkout.get_by_id(wid)
    assert row.description == edited and row.steps is None
    [event] = fake_intervals.events("i1001")
    assert event["description"] == edited
