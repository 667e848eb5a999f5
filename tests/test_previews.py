"""Plan previews: nothing is saved before "Save to calendar"; regenerate, cancel, expiry, double presses."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from core import actions
from core.conversation.turn import Coach
from core.messages import Reply
from core.planning import plans, workouts
from core.sync import outbox as sync
from core.sync.intervals import IntervalsPool
from storage.models import PendingAction, PlannedWorkout, Usage, WeeklyTrainingPlan, utcnow
from tests.fakes.gemini import FakeGemini, call, count_tokens, json_reply, text
from tests.fakes.intervals import FakeIntervals
from tests.helpers.athletes import make_athlete
from tests.helpers.chat import pressed, said
from tests.helpers.clock import today
from tests.helpers.plans import SWEET_SPOT, generations_used

START = today() + dt.timedelta(days=1)


def plan(title: str, minutes: int = 60) -> dict[str, Any]:
    workout = {
        "title": title,
        "type": "Ride",
        "duration_minutes": minutes,
        "tss": minutes,
        "intensity": "easy",
        "time_of_day": "morning",
    }
    return {"summary": "Base.", "days": [{"date": START.isoformat(), "workouts": [workout]}]}


async def preview(coach: Coach, fake_gemini: FakeGemini, title: str) -> Reply:
    fake_gemini.script(call("generate_training_plan", {"days": 3}), text("Shall I?"))
    asked = await coach.handle(said("pia", "Plan my days"))
    fake_gemini.script(json_reply(plan(title)))
    return await coach.handle(pressed("pia", asked, "Generate plan"))


async def test_regenerate_shows_a_new_preview_and_counts_against_the_limit(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    athlete = await make_athlete("pia", fake_intervals)
    first = await preview(coach, fake_gemini, "First idea")
    assert "First idea (Ride, 60 min, TSS 60)" in first.text

    fake_gemini.script(json_reply(plan("Second idea", 45)))
    second = await coach.handle(pressed("pia", first, "Regenerate"))
    assert "Second idea (Ride, 45 min, TSS 45)" in second.text
    assert "Total: 1 workout, TSS 45, 45 min." in second.text  # durations read as everywhere else
    assert [b.label for b in second.buttons] == ["Save to calendar", "Regenerate", "Cancel"]
    stale = await coach.handle(pressed("pia", first, "Save to calendar"))
    assert stale.text == "You already answered that one."
    assert PlannedWorkout.select().count() == 0 and fake_intervals.requests == []

    # Eight more generations this hour make ten: the next "Regenerate" is refused.
    generations_used(athlete, 8)
    refused = await coach.handle(pressed("pia", second, "Regenerate"))
    assert "10 plans in the last hour" in refused.text and refused.chosen is None
    # The refused press is not spent: the preview can still be saved.
    saved = await coach.handle(pressed("pia", second, "Save to calendar"))
    assert "Saved your 3-day plan: 1 workout" in saved.text
    assert [w.title for w in PlannedWorkout.select()] == ["Second idea"]
    assert len(fake_gemini.requests) == 4  # two turn steps and two plans: the refused one asked nothing


async def test_plan_next_week_counts_against_the_limit(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    athlete = await make_athlete("pia", fake_intervals)
    generations_used(athlete, 9)
    request = plans.PlanRequest(athlete, 3, START, "base")
    review = Reply("Your week.", buttons=actions.create(athlete, "plan_next_week", request.to_payload()))
    fake_gemini.script(json_reply(plan("Next week")))
    shown = await coach.handle(pressed("pia", review, "Plan next week"))
    assert "Next week (Ride, 60 min, TSS 60)" in shown.text

    # The weekly review's press was the tenth generation this hour: "Regenerate" is refused.
    refused = await coach.handle(pressed("pia", shown, "Regenerate"))
    assert "10 plans in the last hour" in refused.text
    assert len(fake_gemini.requests) == 1 and PlannedWorkout.select().count() == 0


async def test_cancel_and_expiry_write_nothing(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    await make_athlete("pia", fake_intervals)
    shown = await preview(coach, fake_gemini, "Not wanted")
    cancelled = await coach.handle(pressed("pia", shown, "Cancel"))
    assert "dropped that plan" in cancelled.text and cancelled.chosen == "Cancel"

    later = await preview(coach, fake_gemini, "Too late")
    action = PendingAction.get(PendingAction.kind == "plan_preview", PendingAction.used_at.is_null())
    lifetime = action.expires_at - action.created_at
    assert dt.timedelta(hours=23, minutes=59) < lifetime <= dt.timedelta(hours=24)
    PendingAction.update(expires_at=utcnow() - dt.timedelta(seconds=1)).where(
        PendingAction.id == action.id
    ).execute()
    expired = await coach.handle(pressed("pia", later, "Save to calendar"))
    assert "expired" in expired.text

    assert WeeklyTrainingPlan.select().count() == 0 and PlannedWorkout.select().count() == 0
    assert fake_intervals.requests == []


def workout(title: str, kind: str, minutes: int, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "title": title,
        "type": kind,
        "duration_minutes": minutes,
        "tss": 50,
        "intensity": "moderate",
        "time_of_day": "evening",
        "steps": steps,
    }


RUN_STEPS = [
    {"kind": "warmup", "minutes": 10, "hr_zone": 1},
    {"kind": "interval", "minutes": 20, "lthr_percent": 92},
    {"kind": "cooldown", "distance_km": 2, "pace": "5:00"},
]


def days(*workouts: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": "Quality week.",
        "days": [
            {"date": (START + dt.timedelta(days=i)).isoformat(), "workouts": [w]}
            for i, w in enumerate(workouts)
        ],
    }


async def test_saved_plan_workouts_carry_workout_text_and_runs_no_power(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    await make_athlete("pia", fake_intervals)
    fake_gemini.script(call("generate_training_plan", {"days": 3}), text("Shall I?"))
    asked = await coach.handle(said("pia", "Plan my days"))
    fake_gemini.script(
        json_reply(
            days(workout("Threshold", "Ride", 60, SWEET_SPOT), workout("Tempo run", "Run", 40, RUN_STEPS))
        )
    )
    shown = await coach.handle(pressed("pia", asked, "Generate plan"))
    assert "10m ramp 50-70%, 3x(10m 90%, 5m 55%), 5m 50%" in shown.text
    assert "10m Z1 HR, 20m 92% LTHR, 2km 5:00/km Pace" in shown.text
    assert fake_intervals.events("i1001") == []

    await coach.handle(pressed("pia", shown, "Save to calendar"))
    events = {e["name"]: e for e in fake_intervals.events("i1001")}
    ride, run = events["Threshold"], events["Tempo run"]
    assert ride["description"].startswith("- Warmup 10m ramp 50-70%\n\n3x\n- 10m 90%")
    assert len(ride["workout_doc"]["steps"]) == 4 and ride["moving_time"] == 60 * 60
    assert run["description"] == "- Warmup 10m Z1 HR\n- 20m 92% LTHR\n- Cooldown 2km 5:00/km Pace"
    assert run["workout_doc"] and "power" not in {s["target"] for s in run["workout_doc"]["steps"]}
    # Duration and TSS come from the steps, not from what the model claimed.
    saved = {w.title: w for w in PlannedWorkout.select()}
    assert saved["Tempo run"].duration_minutes == 40 and saved["Threshold"].tss != 50


async def test_bad_steps_from_the_model_are_repaired_or_never_saved(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    await make_athlete("pia", fake_intervals)
    negative = workout("Negative", "Ride", 60, [{"kind": "steady", "minutes": -10, "power_percent": 70}])
    too_hard = workout("Too hard", "Ride", 60, [{"kind": "steady", "minutes": 60, "power_percent": 500}])
    too_long = workout("Too long", "Ride", 30, SWEET_SPOT)
    power_run = workout("Power run", "Run", 30, [{"kind": "steady", "minutes": 30, "power_percent": 80}])
    fixed = workout("Fixed", "Ride", 60, SWEET_SPOT)
    fake_gemini.script(call("generate_training_plan", {"days": 5}), text("Shall I?"))
    asked = await coach.handle(said("pia", "Plan my days"))
    fake_gemini.script(
        json_reply(days(negative, too_hard, too_long, power_run)),
        json_reply(days(fixed, too_hard, too_long, power_run)),
    )
    shown = await coach.handle(pressed("pia", asked, "Generate plan"))

    repair = fake_gemini.user_texts()[0]
    assert "broke these rules" in repair
    assert "steps.0.minutes" in repair and "steps.0.power_percent" in repair
    assert "add up to 60 minutes but the workout is 30" in repair and "never power" in repair
    assert "Total: 1 workout" in shown.text
    for title in ("Too hard", "Too long", "Power run"):
        assert f"{title!r}" in shown.text.split("Left out")[1]

    await coach.handle(pressed("pia", shown, "Save to calendar"))
    assert [w.title for w in PlannedWorkout.select()] == ["Fixed"]
    assert [e["name"] for e in fake_intervals.events("i1001")] == ["Fixed"]


async def test_a_failed_bulk_sync_on_save_is_retried_not_lost(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("pia", fake_intervals)
    old = {"date": START.isoformat(), "title": "Old ride", "type": "Ride", "duration_minutes": 30}
    await workouts.create_workout(pool, athlete, old)
    shown = await preview(coach, fake_gemini, "New ride")
    fake_intervals.fail_next(2, "500")  # the bulk delete and the bulk create
    saved = await coach.handle(pressed("pia", shown, "Save to calendar"))
    assert saved.sync_status == "pending" and "sync automatically" in saved.text
    assert [e["name"] for e in fake_intervals.events("i1001")] == ["Old ride"]

    await sync.drain(pool)
    assert [e["name"] for e in fake_intervals.events("i1001")] == ["New ride"]
    assert PlannedWorkout.get().sync_status == "SYNCED"


async def test_plan_drafts_are_charged_to_the_daily_token_budget(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    athlete = await make_athlete("pia", fake_intervals)
    await preview(coach, fake_gemini, "First idea")
    # Two round trips of the chat turn (the tool call, then "Shall I?"), then the plan draft.
    assert len(fake_gemini.prompt_tokens) == 3
    asked = json.dumps({"name": "generate_training_plan", "args": {"days": 3}, "id": "call-1"})
    answers = count_tokens(asked) + count_tokens("Shall I?") + count_tokens(json.dumps(plan("First idea")))
    spent = Usage.get((Usage.athlete == athlete) & (Usage.budget == "tokens")).amount
    assert spent == sum(fake_gemini.prompt_tokens) + answers  # the draft is not free
