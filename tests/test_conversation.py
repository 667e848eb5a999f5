"""Conversation turns through the real google-genai client against the fake Gemini server."""

from __future__ import annotations

import datetime as dt

import pytest

from core.access import athletes
from core.clock import DAY_NAMES, day_of_week
from core.conversation.tools import TOOLS
from core.conversation.turn import Coach, Limits
from core.messages import Incoming
from core.planning import availability, workouts
from core.sync.intervals import IntervalsPool
from storage.models import (
    ConversationTurn,
    PendingAction,
    PlannedWorkout,
    WeeklyTrainingPlan,
)
from tests.fakes.gemini import (
    FakeGemini,
    call,
    count_tokens,
    delay,
    error,
    forever,
    json_reply,
    raw_args,
    text,
)
from tests.fakes.intervals import FakeIntervals
from tests.helpers.athletes import make_athlete
from tests.helpers.chat import next_weekday, pressed, said
from tests.helpers.clock import today

TODAY = today()


async def add_ride(pool: IntervalsPool, athlete: int, day: dt.date, title: str = "Tempo ride") -> str:
    result = await workouts.create_workout(
        pool,
        athlete,
        {"date": day.isoformat(), "title": title, "type": "Ride", "duration_minutes": 60, "tss": 70},
    )
    return str(result.data["id"])


async def test_schedule_question_is_answered_from_context(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    ann = await make_athlete("ann", fake_intervals)
    thursday = next_weekday(4)
    await add_ride(pool, ann, thursday, "Sweet spot 3x15")
    await availability.update_availability(
        ann, {"day_of_week": 5, "gym_access": True, "notes": "Gym at lunch"}
    )
    fake_gemini.script(text("Thursday: Sweet spot 3x15, 60 minutes."))

    reply = await coach.handle(said("ann", "What's on Thursday?"))

    assert reply.text == "Thursday: Sweet spot 3x15, 60 minutes." and not reply.buttons
    assert len(fake_gemini.requests) == 1
    system = fake_gemini.system_instruction()
    assert "## Planned Workouts (Next 14 Days)" in system and "«Sweet spot 3x15»" in system
    assert f"Thu {thursday.isoformat()}" in system
    assert "## Training Availability" in system and "«Gym at lunch»" in system
    assert (
        "## Current Training Plan" in system
        and f"Today is {DAY_NAMES[day_of_week(TODAY)]} {TODAY.isoformat()}" in system
    )
    assert fake_gemini.prompt_tokens[0] > count_tokens(system)
    assert "update_planned_workout" in fake_gemini.declared_tools()
    assert len(fake_gemini.declared_tools()) == len(TOOLS)


async def test_moving_a_ride_syncs_and_says_so(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    ben = await make_athlete("ben", fake_intervals)
    tuesday = next_weekday(2)
    wednesday = tuesday + dt.timedelta(days=1)
    wid = await add_ride(pool, ben, tuesday)
    fake_gemini.script(
        call("update_planned_workout", {"workout_id": wid, "date": wednesday.isoformat()}),
        text("Done! Your ride is on Wednesday now."),
    )

    reply = await coach.handle(said("ben", "Move my Tuesday ride to Wednesday"))

    assert PlannedWorkout.get_by_id(wid).date == wednesday
    [event] = fake_intervals.events("i1001")
    assert event["start_date_local"].startswith(wednesday.isoformat())
    assert reply.sync_status == "synced" and "Synced to Intervals.icu" in reply.text
    [response] = fake_gemini.function_responses()
    assert response["response"]["sync_status"] == "synced"

    fake_intervals.fail_next(1, "500")
    fake_gemini.script(
        call("update_planned_workout", {"workout_id": wid, "date": tuesday.isoformat()}),
        text("Moved back to Tuesday."),
    )
    reply = await coach.handle(said("ben", "Actually back to Tuesday"))
    assert PlannedWorkout.get_by_id(wid).date == tuesday
    assert reply.sync_status == "pending" and "will sync automatically" in reply.text


def plan_json(start: dt.date) -> dict[str, object]:
    return {
        "summary": "Build aerobic base.",
        "days": [
            {
                "date": (start + dt.timedelta(days=i)).isoformat(),
                "workouts": [
                    {
                        "title": f"Endurance {i}",
                        "type": "Ride",
                        "duration_minutes": 60,
                        "tss": 50,
                        "intensity": "easy",
                        "time_of_day": "morning",
                        "description": "Z2",
                    }
                ],
            }
            for i in range(0, 7, 2)
        ],
    }


async def test_plan_generation_asks_with_buttons_and_runs_once(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    await make_athlete("cat", fake_intervals)
    start = TODAY + dt.timedelta(days=1)
    fake_gemini.script(
        call("generate_training_plan", {"days": 7, "focus": "endurance"}),
        text("I can build a 7-day endurance plan. Shall I?"),
    )
    asked = await coach.handle(said("cat", "Plan my next week"))
    assert [b.label for b in asked.buttons] == ["Generate plan", "Cancel"]
    assert all(len(b.action.encode()) <= 64 for b in asked.buttons)
    assert fake_gemini.function_responses()[0]["response"]["require_confirmation"] is True

    cancelled = await coach.handle(pressed("cat", asked, "Cancel"))
    assert cancelled.chosen == "Cancel" and "won't" in cancelled.text
    assert WeeklyTrainingPlan.select().count() == 0
    assert len(fake_gemini.requests) == 2

    fake_gemini.script(
        call("generate_training_plan", {"days": 7, "focus": "endurance", "user_confirmed": True}),
        text("Press the button to go."),
    )
    asked = await coach.handle(said("cat", "OK, plan it"))
    fake_gemini.script(json_reply(plan_json(start)))
    first = await coach.handle(pressed("cat", asked, "Generate plan"))
    second = await coach.handle(pressed("cat", asked, "Generate plan"))

    assert "Total: 4 workouts, TSS 200, 4h00." in first.text
    assert [b.label for b in first.buttons] == ["Save to calendar", "Regenerate", "Cancel"]
    assert second.text == "You already answered that one."
    assert WeeklyTrainingPlan.select().count() == 0 and PlannedWorkout.select().count() == 0
    assert fake_intervals.events("i1001") == []
    assert len(fake_gemini.requests) == 5  # two turns of two steps, one plan: no second generation

    saved = await coach.handle(pressed("cat", first, "Save to calendar"))
    again = await coach.handle(pressed("cat", first, "Save to calendar"))
    assert "Saved your 7-day plan: 4 workouts, total TSS 200" in saved.text and saved.sync_status == "synced"
    assert again.text == "You already answered that one."
    assert WeeklyTrainingPlan.select().count() == 1 and PlannedWorkout.select().count() == 4
    assert len(fake_intervals.events("i1001")) == 4


async def test_foreign_expired_and_forged_buttons_are_refused(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    await make_athlete("dan", fake_intervals)
    fake_gemini.script(call("generate_training_plan", {}), text("Shall I?"))
    asked = await coach.handle(said("dan", "Plan my week"))

    stolen = Incoming("telegram", "u-eve", "c-eve", action=asked.buttons[0].action)
    assert (await coach.handle(stolen)).text == "That button isn't yours or no longer exists."
    forged = Incoming("telegram", "u-dan", "c-dan", action="a:../../etc:yes")
    assert "isn't one I recognise" in (await coach.handle(forged)).text
    PendingAction.update(expires_at=dt.datetime(2000, 1, 1)).execute()
    expired = await coach.handle(pressed("dan", asked, "Generate plan"))
    assert "expired" in expired.text
    assert WeeklyTrainingPlan.select().count() == 0


async def test_bad_tool_arguments_come_back_as_structured_errors(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    owner = await make_athlete("fay", fake_intervals)
    theirs = await add_ride(pool, owner, TODAY + dt.timedelta(days=3))
    await athletes.identify("telegram", "u-gus", "c-gus", name="gus")
    fake_gemini.script(
        call("update_planned_workout", {"workout_id": theirs, "title": "Hijacked"}),
        call("create_planned_workout", {"date": "next tuesday", "title": "Run"}),
        raw_args("create_planned_workout", {"date": TODAY.isoformat(), "title": "X", "bogus": [1]}),
        call("no_such_tool", {}),
        text("Sorry, I couldn't do that."),
    )
    coach.limits = Limits(max_steps=6, turn_timeout=5)

    reply = await coach.handle(said("gus", "Rename Fay's ride"))

    assert reply.text == "Sorry, I couldn't do that."
    errors = [fake_gemini.function_responses(i)[0]["response"] for i in range(1, 5)]
    assert [e["error"] for e in errors] == [
        "not_found",
        "invalid_arguments",
        "invalid_arguments",
        "unknown_tool",
    ]
    assert "YYYY-MM-DD" in errors[1]["message"] and "bogus" in errors[2]["message"]
    assert PlannedWorkout.get_by_id(theirs).title == "Tempo ride"
    assert PlannedWorkout.select().count() == 1


async def test_endless_tool_calls_stop_at_the_cap(coach: Coach, fake_gemini: FakeGemini) -> None:
    fake_gemini.script(forever(call("get_training_availability", {})))
    reply = await coach.handle(said("hal", "Loop"))
    assert "stuck" in reply.text
    assert len(fake_gemini.requests) == 4


@pytest.mark.parametrize("failure", [error(503), error(400, "INVALID_ARGUMENT"), delay(3, text("late"))])
async def test_model_failure_gets_a_friendly_reply_and_keeps_the_message(
    coach: Coach, fake_gemini: FakeGemini, failure: object
) -> None:
    fake_gemini.script(failure)  # type: ignore[arg-type]
    reply = await coach.handle(said("ida", "How was my week?"))
    assert reply.text.startswith("Sorry,") and "saved" in reply.text
    kept = [t.content["parts"][0]["text"] for t in ConversationTurn.select().order_by(ConversationTurn.id)]
    assert kept[0] == "How was my week?"

    fake_gemini.script(text("Good week!"))
    await coach.handle(said("ida", "Hello again"))
    assert fake_gemini.user_texts()[:2] == ["How was my week?", "Hello again"]


async def test_ride_without_bike_access_offers_override(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    jo = await make_athlete("jo", fake_intervals)
    friday = next_weekday(5)
    await availability.update_availability(jo, {"day_of_week": 5, "bike_access": False})
    fake_gemini.script(
        call(
            "create_planned_workout",
            {"date": friday.isoformat(), "title": "Intervals", "type": "ride", "time_of_day": "morning"},
        ),
        text("You have no bike on Fridays. Thursday or Saturday would work, or schedule anyway?"),
    )
    reply = await coach.handle(said("jo", "Add a ride on Friday morning"))

    [result] = [r["response"] for r in fake_gemini.function_responses()]
    assert result["error"] == "conflict" and "You don't have bike access on Fridays" in result["warnings"]
    assert result["suggestions"] and all("Friday" not in s for s in result["suggestions"])
    assert [b.label for b in reply.buttons] == ["Schedule anyway", "Pick another day"]
    assert PlannedWorkout.select().count() == 0

    forced = await coach.handle(pressed("jo", reply, "Schedule anyway"))
    assert forced.chosen == "Schedule anyway" and forced.sync_status == "synced"
    assert PlannedWorkout.get().date == friday and len(fake_intervals.events("i1001")) == 1


async def test_delete_asks_first(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    kim = await make_athlete("kim", fake_intervals)
    wid = await add_ride(pool, kim, TODAY + dt.timedelta(days=4))
    fake_gemini.script(call("delete_planned_workout", {"workout_id": wid}), text("Delete it?"))
    asked = await coach.handle(said("kim", "Drop that ride"))
    assert [b.label for b in asked.buttons] == ["Delete", "Keep"]
    assert PlannedWorkout.select().count() == 1
    done = await coach.handle(pressed("kim", asked, "Delete"))
    assert "deleted" in done.text and PlannedWorkout.select().count() == 0
    assert fake_intervals.events("i1001") == []


async def test_oversized_message_is_refused_without_a_model_call(
    coach: Coach, fake_gemini: FakeGemini
) -> None:
    reply = await coach.handle(said("lea", "x" * 5000))
    assert "too long (5000 characters)" in reply.text
    assert fake_gemini.requests == []
    assert ConversationTurn.select().count() == 0


async def test_turns_of_one_athlete_do_not_interleave(coach: Coach, fake_gemini: FakeGemini) -> None:
    import asyncio

    fake_gemini.script(delay(0.3, text("first")), text("second"))
    replies = await asyncio.gather(coach.handle(said("max", "one")), coach.handle(said("max", "two")))
    assert sorted(r.text for r in replies) == ["first", "second"]
    # The second request saw the first exchange in its history.
    assert fake_gemini.user_texts(1)[:2] in (["one", "two"], ["two", "one"])


async def test_commands(
    coach: Coach, fake_gemini: FakeGemini, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    fake_intervals.add_athlete("i555", "key-ned-123456789", {"name": "Ned", "timezone": "America/Denver"})
    start = await coach.handle(said("ned", "/start"))
    assert start.text.startswith("Hi!") and "/connect ATHLETE_ID API_KEY" in start.text
    assert "/notify KIND on|off" in (await coach.handle(said("ned", "/daily maybe"))).text
    help_reply = await coach.handle(said("ned", "/help"))
    assert "/connect ATHLETE_ID API_KEY" in help_reply.text
    bad = await coach.handle(said("ned", "/connect i555 wrong-key-12345"))
    assert "refused" in bad.text and bad.delete_incoming
    ok = await coach.handle(said("ned", "/connect i555 key-ned-123456789"))
    assert "Connected to Intervals.icu as Ned" in ok.text and "FTP 250 W" in ok.text and ok.delete_incoming
    ned = await athletes.identify("telegram", "u-ned", "c-ned")
    assert (await athletes_get(ned)).timezone == "America/Denver"
    await add_ride(pool, ned, TODAY + dt.timedelta(days=2), "Hill repeats")
    await availability.update_availability(
        ned, {"day_of_week": 1, "morning": False, "gym_access": True, "notes": "desk day"}
    )
    week = await coach.handle(said("ned", "/availability"))
    assert week.text.splitlines()[1] == "Mon: afternoon, evening; bike, gym (desk day)"
    assert week.text.splitlines()[7] == "Sun: morning, afternoon, evening; bike"
    plan = await coach.handle(said("ned", "/plan"))
    assert "✅" in plan.text and "Hill repeats" in plan.text
    assert "Everything is synced" in (await coach.handle(said("ned", "/sync"))).text
    assert "Time zone set" in (await coach.handle(said("ned", "/timezone Europe/Paris"))).text
    assert "Unknown time zone" in (await coach.handle(said("ned", "/timezone Mars/Base"))).text
    assert "I don't know /frobnicate" in (await coach.handle(said("ned", "/frobnicate"))).text
    assert "erased" in (await coach.handle(said("ned", "/disconnect"))).text
    assert not (await athletes_get(ned)).connected
    assert fake_gemini.requests == []


async def athletes_get(athlete_id: int):  # type: ignore[no-untyped-def]
    from storage import db

    return await db.call(athletes.get, athlete_id)


async def test_sync_command_retries_failed_changes(
    coach: Coach, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    ola = await make_athlete("ola", fake_intervals)
    fake_intervals.fail_next(1, "500")
    await add_ride(pool, ola, TODAY + dt.timedelta(days=2))
    status = await coach.handle(said("ola", "/sync"))
    assert "1 change(s) waiting" in status.text and status.buttons[0].label == "Retry now"
    retried = await coach.handle(pressed("ola", status, "Retry now"))
    assert "1 synced" in retried.text and len(fake_intervals.events("i1001")) == 1
