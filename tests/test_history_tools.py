"""The six history tools through ``Tool.run``: real database, real client, fake Intervals.icu."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from peewee import Database

from core.conversation.tools.base import ToolContext
from core.conversation.tools.history import (
    HISTORY_TOOLS,
    get_nutrition_log,
    get_performance_metrics,
    get_recent_workouts,
    get_wellness_metrics,
    get_workout_details,
    search_workouts,
)
from core.sync.intervals import IntervalsPool
from storage.models import Activity, Athlete, NutritionEntry, Wellness
from tests.fakes.intervals import FakeIntervals
from tests.helpers.athletes import make_athlete
from tests.helpers.clock import today

TODAY = today()
KEY_B = "key-b-0123456789"


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def ctx(athlete_id: int, pool: IntervalsPool) -> ToolContext:
    return ToolContext(athlete_id=athlete_id, pool=pool, today=TODAY)


def activity(aid: str, offset: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": aid,
        "start_date_local": f"{day(offset)}T07:00:00",
        "type": "Ride",
        "name": f"Ride {aid}",
        "source": "GARMIN_CONNECT",
        "moving_time": 3600,
        "icu_training_load": 60,
        **extra,
    }


def stored(athlete_id: int, aid: str, offset: int, **extra: Any) -> Activity:
    start = dt.datetime.combine(TODAY + dt.timedelta(days=offset), dt.time(7))
    fields = {"type": "Ride", "name": f"Ride {aid}", "moving_time": 3600, "training_load": 60, **extra}
    return Activity.create(athlete=athlete_id, remote_id=aid, start_date_local=start, **fields)


def test_every_tool_is_declared_with_described_arguments() -> None:
    names = [t.name for t in HISTORY_TOOLS]
    assert names == [
        "get_recent_workouts",
        "get_workout_details",
        "get_nutrition_log",
        "get_wellness_metrics",
        "search_workouts",
        "get_performance_metrics",
    ]
    for t in HISTORY_TOOLS:
        declared = t.declaration()
        assert declared["description"] and "\n" not in declared["description"]
        for name, schema in declared["parameters_json_schema"]["properties"].items():
            assert schema.get("description"), f"{t.name}.{name} has no description"


async def test_recent_workouts_refreshes_and_lists_newest_first(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("ann", fake_intervals)
    fake_intervals.add_activity("i1001", activity("i11", -3, distance=30000.0, icu_average_watts=190))
    fake_intervals.add_activity("i1001", activity("i12", -1, type="Run", name="Tempo"))
    fake_intervals.add_activity("i1001", activity("i13", -10))
    fake_intervals.add_activity(
        "i1001",
        {
            "id": "i14",
            "start_date_local": f"{day(0)}T06:00:00",
            "type": "Ride",
            "name": "Morning Ride",
            "source": "STRAVA",
        },
    )

    result = await get_recent_workouts.run(ctx(athlete, pool), {})

    assert result["success"] is True
    assert [w["id"] for w in result["workouts"]] == ["i14", "i12", "i11"]
    assert result["date_range"] == {"start": day(-6), "end": day(0)}
    stub, run, ride = result["workouts"]
    assert stub == {
        "id": "i14",
        "date": day(0),
        "start": "06:00",
        "type": "Ride",
        "name": "Morning Ride",
        "source": "STRAVA",
        "strava_stub": True,
    }
    assert run == {
        "id": "i12",
        "date": day(-1),
        "start": "07:00",
        "type": "Run",
        "name": "Tempo",
        "duration_min": 60,
        "load": 60,
    }
    assert ride["distance_km"] == 30.0 and ride["avg_watts"] == 190
    assert result["totals"] == {"workouts": 3, "duration_min": 120, "distance_km": 30.0, "load": 120}
    assert "Strava" in result["note"] and "out of date" not in result["note"]
    assert Activity.select().count() == 3

    limited = await get_recent_workouts.run(ctx(athlete, pool), {"days": 30, "limit": 1})
    assert [w["id"] for w in limited["workouts"]] == ["i14"]


@pytest.mark.parametrize(
    ("tool_index", "raw", "complaint"),
    [
        (0, {"days": 0}, "days"),
        (0, {"days": 91}, "days"),
        (0, {"limit": 51}, "limit"),
        (0, {"dayz": 3}, "dayz is not a known field"),
        (0, {"days": "lots"}, "days"),
        (0, ["days", 3], "object"),
        (1, {}, "workout_id"),
        (1, {"workout_id": "i1; DROP TABLE"}, "workout_id"),
        (2, {"start_date": "2026-02-30"}, "start_date is not a real calendar date"),
        (3, {"start_date": "last week"}, "start_date must be a date in YYYY-MM-DD form"),
        (3, {"start_date": day(-1), "end_date": day(-5)}, "end_date is before start_date"),
        (3, {"start_date": day(-500)}, "at most 366 days"),
        (4, {"query": "x" * 101}, "query"),
        (4, {"limit": 0}, "limit"),
        (5, {"anything": 1}, "anything is not a known field"),
    ],
)
async def test_bad_arguments_are_refused_before_anything_happens(
    db: Database,
    fake_intervals: FakeIntervals,
    pool: IntervalsPool,
    tool_index: int,
    raw: Any,
    complaint: str,
) -> None:
    athlete = await make_athlete("bad", fake_intervals)
    fake_intervals.add_activity("i1001", activity("i11", -1))
    result = await HISTORY_TOOLS[tool_index].run(ctx(athlete, pool), raw)
    assert result["success"] is False and result["error"] == "invalid_arguments"
    assert complaint in result["message"]
    assert fake_intervals.requests == []
    assert Activity.select().count() == 0 and Wellness.select().count() == 0


async def test_workout_details_fetch_more_once_and_stay_private(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    owner = await make_athlete("own", fake_intervals)
    intruder = await make_athlete("int", fake_intervals, remote_id="i2002", key=KEY_B)
    loner = await make_athlete("lon")
    fake_intervals.add_activity(
        "i1001",
        activity(
            "i47602392",
            -1,
            icu_zone_times=[{"id": "Z2", "secs": 1800}, {"id": "Z4", "secs": 1200}],
            icu_hr_zone_times=[600, 3000],
            interval_summary=["3x 12m 265w"],
            icu_rpe=7,
            icu_intervals=[{"type": "WORK", "label": "1", "moving_time": 720, "average_watts": 265}],
        ),
    )
    await get_recent_workouts.run(ctx(owner, pool), {})
    assert "intervals" not in Activity.get(Activity.remote_id == "i47602392").raw

    result = await get_workout_details.run(ctx(owner, pool), {"workout_id": "i47602392"})
    workout = result["workout"]
    assert result["success"] is True and "note" not in result
    assert workout["id"] == "i47602392" and workout["load"] == 60 and workout["icu_rpe"] == 7
    assert workout["intervals"] == [{"type": "WORK", "label": "1", "moving_time": 720, "average_watts": 265}]
    assert workout["power_zone_min"] == {"Z2": 30.0, "Z4": 20.0} and workout["hr_zone_min"] == [10.0, 50.0]
    seen = len(fake_intervals.requests)
    assert (await get_workout_details.run(ctx(owner, pool), {"workout_id": "i47602392"}))[
        "workout"
    ] == workout
    assert len(fake_intervals.requests) == seen  # details are stored now

    unknown = await get_workout_details.run(ctx(intruder, pool), {"workout_id": "i999999"})
    assert unknown == {
        "success": False,
        "error": "not_found",
        "message": "No completed activity with id 'i999999'.",
    }
    for who in (intruder, loner):
        denied = await get_workout_details.run(ctx(who, pool), {"workout_id": "i47602392"})
        assert denied == {**unknown, "message": "No completed activity with id 'i47602392'."}
    assert Activity.select().where(Activity.athlete != owner).count() == 0


async def test_outage_answers_from_stored_data_with_a_note(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("out", fake_intervals)
    fake_intervals.add_activity("i1001", activity("i11", -2))
    await get_recent_workouts.run(ctx(athlete, pool), {})
    fake_intervals.add_activity("i1001", activity("i12", -1))

    for tool, raw in (
        (get_recent_workouts, {}),
        (search_workouts, {"query": "ride"}),
        (get_workout_details, {"workout_id": "i11"}),
        (get_performance_metrics, {}),
    ):
        fake_intervals.fail_next(1, "500")
        result = await tool.run(ctx(athlete, pool), raw)
        assert result["success"] is True, tool.name
        assert (
            "Could not refresh from Intervals.icu (Intervals.icu had a server error (500))" in result["note"]
        )
        assert "may be out of date" in result["note"]
    fake_intervals.fail_next(1, "500")
    listed = await get_recent_workouts.run(ctx(athlete, pool), {})
    assert [w["id"] for w in listed["workouts"]] == ["i11"]  # i12 is only in Intervals.icu


async def test_not_connected_answers_from_stored_data_with_how_to_connect(
    db: Database, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("loc")
    stored(athlete, "i5", -1, name="Stored ride")
    result = await get_recent_workouts.run(ctx(athlete, pool), {})
    assert [w["name"] for w in result["workouts"]] == ["Stored ride"]
    assert "/connect ATHLETE_ID API_KEY" in result["note"]
    empty = await get_wellness_metrics.run(ctx(athlete, pool), {})
    assert empty["success"] is True and empty["days"] == []
    assert "/connect ATHLETE_ID API_KEY" in empty["note"]
    details = await get_workout_details.run(ctx(athlete, pool), {"workout_id": "i5"})
    assert details["workout"]["name"] == "Stored ride" and "/connect" in details["note"]
    metrics = await get_performance_metrics.run(ctx(athlete, pool), {})
    assert metrics["weekly_load"][-1]["load"] == 60 and "/connect" in metrics["note"]


async def test_revoked_key_still_answers_and_says_to_reconnect(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("rev", fake_intervals)
    fake_intervals.add_activity("i1001", activity("i11", -2))
    await get_recent_workouts.run(ctx(athlete, pool), {})
    fake_intervals.revoke_key("key-a-0123456789")
    result = await get_recent_workouts.run(ctx(athlete, pool), {})
    assert [w["id"] for w in result["workouts"]] == ["i11"]
    assert "reconnect with /connect ATHLETE_ID API_KEY" in result["note"]


async def test_wellness_form_is_ctl_minus_atl_and_nulls_are_left_out(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("wel", fake_intervals)
    fake_intervals.add_wellness(
        "i1001",
        {
            "id": day(-2),
            "ctl": 52.4,
            "atl": 60.1,
            "restingHR": 48,
            "hrv": 65.24,
            "sleepSecs": 27000,
            "weight": 70.3,
            "rampRate": 3.26,
            "soreness": 2,
        },
    )
    fake_intervals.add_wellness("i1001", {"id": day(-1), "ctl": 53.0, "atl": 50.5, "restingHR": None})
    fake_intervals.add_wellness("i1001", {"id": day(-20), "ctl": 40.0, "atl": 40.0})

    result = await get_wellness_metrics.run(ctx(athlete, pool), {"start_date": day(-6)})

    assert result["date_range"] == {"start": day(-6), "end": day(0)}
    assert result["days"] == [
        {
            "date": day(-2),
            "ctl": 52.4,
            "atl": 60.1,
            "form": -7.7,
            "ramp_rate": 3.3,
            "resting_hr": 48,
            "hrv": 65.2,
            "sleep_hours": 7.5,
            "weight_kg": 70.3,
            "soreness": 2,
        },
        {"date": day(-1), "ctl": 53.0, "atl": 50.5, "form": 2.5},
    ]
    assert "note" not in result


async def test_nutrition_log_by_day_from_coach_and_intervals(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("nut", fake_intervals)
    other = await make_athlete("oth")
    yesterday = TODAY - dt.timedelta(days=1)
    NutritionEntry.create(
        athlete=athlete,
        date=yesterday,
        meal="breakfast",
        description="Oats",
        calories=450,
        carbs_g=70.0,
        protein_g=15.0,
    )
    NutritionEntry.create(
        athlete=athlete, date=yesterday, meal="lunch", description="Pasta", calories=800, carbs_g=110.5
    )
    NutritionEntry.create(athlete=other, date=yesterday, meal="secret", description="Not yours", calories=1)
    fake_intervals.add_wellness(
        "i1001",
        {
            "id": day(0),
            "kcalConsumed": 2100,
            "carbohydrates": 250.0,
            "protein": 120.0,
            "fatTotal": 70.0,
            "ctl": 50.0,
        },
    )

    result = await get_nutrition_log.run(ctx(athlete, pool), {})

    assert result["days"] == [
        {
            "date": day(-1),
            "entries": [
                {"meal": "breakfast", "description": "Oats", "kcal": 450, "carbs_g": 70.0, "protein_g": 15.0},
                {"meal": "lunch", "description": "Pasta", "kcal": 800, "carbs_g": 110.5},
            ],
            "logged_totals": {"kcal": 1250, "carbs_g": 180.5, "protein_g": 15.0},
        },
        {
            "date": day(0),
            "intervals_icu": {"kcal": 2100, "carbs_g": 250.0, "protein_g": 120.0, "fat_g": 70.0},
        },
    ]
    assert "Not yours" not in str(result)


async def test_search_by_name_or_type_any_case(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("sea", fake_intervals)
    fake_intervals.add_activity("i1001", activity("i1", -5, name="THRESHOLD 3x12", type="VirtualRide"))
    fake_intervals.add_activity("i1001", activity("i2", -40, name="Easy spin"))
    fake_intervals.add_activity("i1001", activity("i3", -3, name="Threshold run", type="Run"))
    fake_intervals.add_activity("i1001", activity("i4", -120, name="Old threshold"))

    found = await search_workouts.run(ctx(athlete, pool), {"query": "threshold"})
    assert [w["id"] for w in found["workouts"]] == ["i3", "i1"]  # i4 is older than 90 days
    rides = await search_workouts.run(ctx(athlete, pool), {"type": "ride"})
    assert [w["id"] for w in rides["workouts"]] == ["i1", "i2"]
    by_type = await search_workouts.run(ctx(athlete, pool), {"query": "RUN"})
    assert [w["id"] for w in by_type["workouts"]] == ["i3"]
    old = await search_workouts.run(
        ctx(athlete, pool), {"query": "threshold", "start_date": day(-200), "limit": 5}
    )
    assert [w["id"] for w in old["workouts"]] == ["i3", "i1", "i4"]
    assert found["date_range"] == {"start": day(-89), "end": day(0)}


async def test_performance_metrics_computed_from_activities_without_wellness(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("per", fake_intervals)
    fake_intervals.add_activity("i1001", activity("i1", -2, icu_training_load=100, icu_ftp=255))
    fake_intervals.add_activity("i1001", activity("i2", -1, icu_training_load=30, icu_ftp=260))
    fake_intervals.add_activity("i1001", activity("i3", -1, icu_training_load=20, moving_time=1800))

    result = await get_performance_metrics.run(ctx(athlete, pool), {})

    # Loads 100, 50, 0 from zero (see test_activities): CTL 3.431, ATL 16.618, form -13.187.
    assert (result["ctl"], result["atl"], result["form"]) == (3.4, 16.6, -13.2)
    assert result["source"].startswith(f"estimated from stored activities since {day(-2)}")
    assert (result["ftp"], result["ftp_source"]) == (260, "latest activity")
    weeks = result["weekly_load"]
    assert [w["load"] for w in weeks] == [0, 0, 0, 150] and weeks[-1]["workouts"] == 3
    assert weeks[-1] == {"start": day(-6), "end": day(0), "workouts": 3, "hours": 2.5, "load": 150}
    assert weeks[0]["start"] == day(-27)
    assert result["load_trend"] == "increasing"


async def test_performance_metrics_prefer_wellness(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("pw", fake_intervals)
    fake_intervals.add_activity("i1001", activity("i1", -9, icu_training_load=70))
    fake_intervals.add_activity("i1001", activity("i2", -2, icu_training_load=50))
    fake_intervals.add_wellness("i1001", {"id": day(-3), "ctl": 70.0, "atl": 60.0})
    fake_intervals.add_wellness("i1001", {"id": day(-1), "ctl": 60.2, "atl": 75.4, "rampRate": -1.5})
    fake_intervals.add_wellness("i1001", {"id": day(0), "restingHR": 50})

    result = await get_performance_metrics.run(ctx(athlete, pool), {})

    assert result["source"] == "Intervals.icu wellness" and result["as_of"] == day(-1)
    assert (result["ctl"], result["atl"], result["form"], result["ramp_rate"]) == (60.2, 75.4, -15.2, -1.5)
    assert [w["load"] for w in result["weekly_load"]] == [0, 0, 70, 50]
    assert result["load_trend"] == "increasing"
    assert "ftp" not in result  # neither the profile nor any activity knows it
    Athlete.update(ftp=281).where(Athlete.id == athlete).execute()
    again = await get_performance_metrics.run(ctx(athlete, pool), {})
    assert (again["ftp"], again["ftp_source"]) == (281, "profile")
