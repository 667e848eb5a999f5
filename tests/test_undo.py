"""Undo: /undo and undo_last_change revert the last change here and in Intervals.icu, one at a time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.conversation.turn import Coach
from core.planning import availability, blackouts, workouts
from core.sync.intervals import IntervalsPool
from storage.models import ChangeLog, PlannedWorkout, TrainingAvailability, WeeklyTrainingPlan, utcnow
from tests.fakes.gemini import FakeGemini, call, json_reply, text
from tests.fakes.intervals import FakeIntervals
from tests.helpers.athletes import make_athlete
from tests.helpers.chat import next_weekday, pressed, said
from tests.helpers.clock import today
from tests.helpers.plans import SWEET_SPOT

START = today() + dt.timedelta(days=1)


def ride(day: dt.date, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "title": title,
        "type": "Ride",
        "duration_minutes": 60,
        "tss": 50,
        **extra,
    }


def names(fake: FakeIntervals) -> set[str]:
    return {e["name"] for e in fake.events("i1001")}


async def test_undo_a_saved_plan_restores_what_it_replaced(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("uma", fake_intervals)
    await workouts.create_workout(pool, athlete, ride(START, "Old tempo", steps=SWEET_SPOT))
    await workouts.create_workout(pool, athlete, ride(START + dt.timedelta(days=1), "Old long ride"))
    own = fake_intervals.add_event(
        "i1001",
        {"category": "WORKOUT", "start_date_local": f"{START}T06:00:00", "name": "Club run", "type": "Run"},
    )
    fake_gemini.script(call("generate_training_plan", {"days": 3}), text("Shall I?"))
    asked = await coach.handle(said("uma", "Plan my days"))
    plan = {
        "summary": "Short block.",
        "days": [
            {"date": (START + dt.timedelta(days=i)).isoformat(), "workouts": [
                {"title": f"Plan ride {i}", "type": "Ride", "duration_minutes": 45, "tss": 40,
                 "intensity": "easy", "time_of_day": "evening"}]}
            for i in range(3)
        ],
    }  # fmt: skip
    fake_gemini.script(json_reply(plan))
    shown = await coach.handle(pressed("uma", asked, "Generate plan"))
    await coach.handle(pressed("uma", shown, "Save to calendar"))
    assert names(fake_intervals) == {"Plan ride 0", "Plan ride 1", "Plan ride 2", "Club run"}

    offer = await coach.handle(said("uma", "/undo"))
    assert "saved the 3-day plan" in offer.text and "replacing 2" in offer.text
    assert [b.label for b in offer.buttons] == ["Undo", "Keep"]
    before = len(fake_intervals.requests)
    done = await coach.handle(pressed("uma", offer, "Undo"))
    assert (
        "Removed the plan's 3 workouts and brought back the 2" in done.text and done.sync_status == "synced"
    )
    assert "Synced" in done.text

    assert names(fake_intervals) == {"Old tempo", "Old long ride", "Club run"}
    [club] = [e for e in fake_intervals.events("i1001") if e["name"] == "Club run"]
    assert club == own  # the athlete's own event was never touched
    # One request removes the plan's three events, one brings the two old ones back.
    sent = [(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in fake_intervals.requests[before:]]
    assert sent == [("PUT", "bulk-delete", 200), ("POST", "bulk", 200)]
    tempo = next(e for e in fake_intervals.events("i1001") if e["name"] == "Old tempo")
    assert tempo["workout_doc"]["steps"]  # restored with its steps
    assert {w.title for w in PlannedWorkout.select().where(PlannedWorkout.origin == "coach")} == {
        "Old tempo",
        "Old long ride",
    }
    assert WeeklyTrainingPlan.get().status == "UNDONE"

    again = await coach.handle(pressed("uma", offer, "Undo"))
    assert again.text == "You already answered that one."
    assert len(fake_intervals.events("i1001")) == 3


async def test_each_undo_goes_one_change_further_back(
    coach: Coach, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("uma", fake_intervals)
    kept = (await workouts.create_workout(pool, athlete, ride(START, "Kept"))).data["id"]
    moved = (await workouts.create_workout(pool, athlete, ride(START, "Moved", time_of_day="morning"))).data[
        "id"
    ]
    await workouts.update_workout(pool, athlete, moved, {"date": (START + dt.timedelta(days=2)).isoformat()})
    await workouts.delete_workout(pool, athlete, kept)
    await availability.update_availability(athlete, {"day_of_week": 2, "evening": False, "max_minutes": 30})
    await blackouts.update_unavailable_dates(athlete, {"action": "add", "start_date": START.isoformat()})

    async def undo_last(expected: str) -> str:
        offer = await coach.handle(said("uma", "/undo"))
        assert expected in offer.text, offer.text
        return (await coach.handle(pressed("uma", offer, "Undo"))).text

    assert "available again" not in await undo_last(f"marked {START} unavailable")
    assert blackouts.upcoming(athlete, START) == []
    await undo_last("changed your Tuesday availability")
    assert not TrainingAvailability.select().where(TrainingAvailability.day_of_week == 2).exists()
    restored = await undo_last("deleted 'Kept'")
    assert "The workout is back" in restored and "Synced" in restored
    assert names(fake_intervals) == {"Kept", "Moved"}
    await undo_last("changed 'Moved'")
    assert PlannedWorkout.get_by_id(moved).date == START
    assert next(e for e in fake_intervals.events("i1001") if e["name"] == "Moved")[
        "start_date_local"
    ].startswith(START.isoformat())
    await undo_last("added 'Moved'")
    assert names(fake_intervals) == {"Kept"}

    # Older than 24 hours is out of reach; an undo is never itself undone.
    ChangeLog.update(created_at=utcnow() - dt.timedelta(hours=25)).where(
        ChangeLog.undone_at.is_null()
    ).execute()
    nothing = await coach.handle(said("uma", "/undo"))
    assert "nothing" in nothing.text and not nothing.buttons


async def test_undo_through_the_model_and_while_intervals_is_down(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("uma", fake_intervals)
    await workouts.create_workout(pool, athlete, ride(START, "Too much"))
    fake_gemini.script(call("undo_last_change", {}), text("Undo adding 'Too much'?"))
    asked = await coach.handle(said("uma", "Take that back"))
    assert fake_gemini.function_responses()[0]["response"]["require_confirmation"] is True
    assert [b.label for b in asked.buttons] == ["Undo", "Keep"]

    fake_intervals.fail_next(1, "500")
    done = await coach.handle(pressed("uma", asked, "Undo"))
    assert done.sync_status == "pending" and "sync automatically" in done.text
    assert PlannedWorkout.select().count() == 0


async def test_an_old_undo_button_never_undoes_out_of_order(
    coach: Coach, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("uma", fake_intervals)
    await workouts.create_workout(pool, athlete, ride(START, "First"))
    old_offer = await coach.handle(said("uma", "/undo"))
    assert "added 'First'" in old_offer.text
    await workouts.create_workout(pool, athlete, ride(START + dt.timedelta(days=1), "Second"))

    stale = await coach.handle(pressed("uma", old_offer, "Undo"))
    assert "out of order" in stale.text and "/undo" in stale.text
    assert {w.title for w in PlannedWorkout.select()} == {"First", "Second"}
    assert names(fake_intervals) == {"First", "Second"}
    assert ChangeLog.select().where(ChangeLog.undone_at.is_null(False)).count() == 0

    # The latest change still goes first, and then the older one.
    offer = await coach.handle(said("uma", "/undo"))
    assert "added 'Second'" in offer.text
    await coach.handle(pressed("uma", offer, "Undo"))
    offer = await coach.handle(said("uma", "/undo"))
    assert "added 'First'" in offer.text
    await coach.handle(pressed("uma", offer, "Undo"))
    assert PlannedWorkout.select().count() == 0 and names(fake_intervals) == set()


async def test_undoing_availability_of_a_day_never_set_leaves_it_unset(
    coach: Coach, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("uma", fake_intervals)

    async def undo_last() -> None:
        offer = await coach.handle(said("uma", "/undo"))
        assert "availability" in offer.text, offer.text
        done = await coach.handle(pressed("uma", offer, "Undo"))
        assert "availability is back" in done.text

    await availability.update_availability(athlete, {"day_of_week": 3, "evening": False})
    await undo_last()
    assert not TrainingAvailability.select().where(TrainingAvailability.day_of_week == 3).exists()
    # Unset, Wednesday takes any workout; a row of defaults would refuse a gym session (no gym access).
    wednesday = next_weekday(3)
    weights = {"date": wednesday.isoformat(), "title": "Weights", "type": "Gym", "duration_minutes": 45}
    created = await workouts.create_workout(pool, athlete, weights)
    assert created.warnings == [] and names(fake_intervals) == {"Weights"}

    # A day that was set comes back as it was set.
    await availability.update_availability(athlete, {"day_of_week": 4, "gym_access": True, "morning": False})
    await availability.update_availability(athlete, {"day_of_week": 4, "max_minutes": 30})
    await undo_last()
    thursday = TrainingAvailability.get(TrainingAvailability.day_of_week == 4)
    assert thursday.gym_access and not thursday.morning and thursday.max_minutes is None
