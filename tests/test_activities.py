"""Pulling activities and wellness from the fake Intervals.icu into the local tables."""

from __future__ import annotations

import datetime as dt

import pytest
from peewee import Database

from core.errors import NotConnected, SyncUnavailable
from core.sync import activities
from core.sync.intervals import IntervalsPool
from storage.models import Activity, Wellness
from tests.fakes.intervals import FakeIntervals
from tests.helpers.athletes import make_athlete
from tests.helpers.clock import today

TODAY = today()


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def full_ride(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "i47602392",
        "start_date_local": f"{day(-1)}T07:30:00",
        "type": "Ride",
        "name": "Threshold 3x12",
        "source": "GARMIN_CONNECT",
        "moving_time": 4500,
        "distance": 40123.5,
        "icu_training_load": 92,
        "icu_intensity": 84.2,
        "icu_average_watts": 205,
        "icu_weighted_avg_watts": 231,
        "average_heartrate": 148,
        "paired_event_id": 5123,
        "icu_ftp": 270,
        "icu_rpe": 7,
        "calories": 950,
        "icu_zone_times": [{"id": "Z1", "secs": 600}, {"id": "Z4", "secs": 2160}],
        "icu_intervals": [{"type": "WORK", "label": "1", "moving_time": 720, "average_watts": 265}],
        "icu_variability_index": 1.05,
        "icu_athlete_id": "ignored",
    }
    return {**base, **extra}


STRAVA_STUB = {
    "id": "i900",
    "start_date_local": f"{day(-2)}T18:00:00",
    "type": "Run",
    "name": "Evening Run",
    "source": "STRAVA",
}


async def test_refresh_stores_rows_and_is_idempotent(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("ann", fake_intervals)
    other = await make_athlete("bob", fake_intervals, remote_id="i2002", key="key-b-0123456789")
    fake_intervals.add_activity("i1001", full_ride())
    fake_intervals.add_activity("i1001", STRAVA_STUB)
    fake_intervals.add_activity(
        "i1001", {"id": "i1", "start_date_local": f"{day(-30)}T08:00:00", "type": "Ride"}
    )
    fake_intervals.add_activity(
        "i2002", {"id": "i2", "start_date_local": f"{day(-1)}T08:00:00", "type": "Swim"}
    )
    fake_intervals.add_wellness(
        "i1001",
        {
            "id": day(-1),
            "ctl": 61.5,
            "atl": 70.0,
            "rampRate": 4.2,
            "restingHR": 47,
            "hrv": 71.3,
            "sleepSecs": 27900,
            "weight": 70.4,
            "kcalConsumed": 2800,
            "soreness": 2,
        },
    )
    fake_intervals.add_wellness("i1001", {"id": day(0), "ctl": 60.0, "atl": 65.0, "restingHR": None})

    first = await activities.refresh(pool, athlete, TODAY - dt.timedelta(days=7), TODAY)
    again = await activities.refresh(pool, athlete, TODAY - dt.timedelta(days=7), TODAY)

    assert (first.activities, first.wellness) == (2, 2)
    assert again == first
    assert Activity.select().count() == 2 and Wellness.select().count() == 2
    assert Activity.select().where(Activity.athlete == other).count() == 0
    ride = Activity.get(Activity.remote_id == "i47602392")
    assert ride.athlete_id == athlete
    assert ride.start_date_local == dt.datetime.combine(TODAY - dt.timedelta(days=1), dt.time(7, 30))
    assert (ride.type, ride.name, ride.source) == ("Ride", "Threshold 3x12", "GARMIN_CONNECT")
    assert (ride.moving_time, ride.distance, ride.training_load, ride.intensity) == (4500, 40123.5, 92, 84.2)
    assert (ride.average_watts, ride.weighted_average_watts, ride.average_heartrate) == (205, 231, 148)
    assert ride.paired_event_id == 5123
    assert ride.raw["icu_ftp"] == 270 and ride.raw["icu_zone_times"][1] == {"id": "Z4", "secs": 2160}
    assert "icu_athlete_id" not in ride.raw and "intervals" not in ride.raw  # the list has no intervals
    well = Wellness.get(Wellness.date == TODAY - dt.timedelta(days=1))
    assert (well.ctl, well.atl, well.ramp_rate, well.resting_hr) == (61.5, 70.0, 4.2, 47)
    assert (well.hrv, well.sleep_secs, well.weight) == (71.3, 27900, 70.4)
    assert well.raw == {"kcalConsumed": 2800, "soreness": 2}
    assert Wellness.get(Wellness.date == TODAY).resting_hr is None

    # A change made in Intervals.icu updates the row in place.
    fake_intervals.add_activity("i1001", full_ride(name="Renamed", icu_training_load=95))
    await activities.refresh(pool, athlete, TODAY - dt.timedelta(days=7), TODAY)
    ride = Activity.get(Activity.remote_id == "i47602392")
    assert (ride.name, ride.training_load, Activity.select().count()) == ("Renamed", 95, 2)


async def test_fetched_details_survive_a_list_refresh(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("cat", fake_intervals)
    fake_intervals.add_activity("i1001", full_ride())
    assert await activities.fetch_activity(pool, athlete, "i47602392")
    await activities.refresh(pool, athlete, TODAY - dt.timedelta(days=3), TODAY)
    row = Activity.get(Activity.remote_id == "i47602392")
    assert row.raw["intervals"] == [{"type": "WORK", "label": "1", "moving_time": 720, "average_watts": 265}]
    assert activities.has_detail(row)


async def test_refresh_needs_a_link(db: Database, pool: IntervalsPool) -> None:
    athlete = await make_athlete("dan")
    with pytest.raises(NotConnected) as missing:
        await activities.refresh(pool, athlete, TODAY - dt.timedelta(days=7), TODAY)
    assert "/connect ATHLETE_ID API_KEY" in missing.value.user_message


async def test_refresh_outage_raises_and_writes_nothing(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("eve", fake_intervals)
    fake_intervals.add_activity("i1001", full_ride())
    fake_intervals.fail_next(1, "500")
    with pytest.raises(SyncUnavailable):
        await activities.refresh(pool, athlete, TODAY - dt.timedelta(days=7), TODAY)
    assert Activity.select().count() == 0


async def test_strava_stub_is_flagged(
    db: Database, fake_intervals: FakeIntervals, pool: IntervalsPool
) -> None:
    athlete = await make_athlete("fay", fake_intervals)
    fake_intervals.add_activity("i1001", STRAVA_STUB)
    fake_intervals.add_activity("i1001", full_ride())
    await activities.refresh(pool, athlete, TODAY - dt.timedelta(days=7), TODAY)

    stub = Activity.get(Activity.remote_id == "i900")
    assert activities.is_strava_stub(stub) and activities.is_strava_stub(STRAVA_STUB)
    assert not activities.is_strava_stub(Activity.get(Activity.remote_id == "i47602392"))
    assert not activities.is_strava_stub({**STRAVA_STUB, "moving_time": 1800})
    assert not activities.is_strava_stub({**STRAVA_STUB, "icu_training_load": 30})
    assert not activities.is_strava_stub({**STRAVA_STUB, "source": "UPLOAD"})
    assert activities.summary(stub) == {
        "id": "i900",
        "date": day(-2),
        "start": "18:00",
        "type": "Run",
        "name": "Evening Run",
        "source": "STRAVA",
        "strava_stub": True,
    }


def test_fitness_is_the_42_and_7_day_weighted_average() -> None:
    # By hand, from zero: CTL += (load - CTL) / 42, ATL += (load - ATL) / 7.
    # load 100: CTL 2.380952, ATL 14.285714; load 50: CTL 3.514739, ATL 19.387755;
    # load 0: CTL 3.431055, ATL 16.618076.
    ctl, atl = activities.fitness([100, 50, 0])
    assert ctl == pytest.approx(3.431055, abs=1e-6)
    assert atl == pytest.approx(16.618076, abs=1e-6)
    # A constant load converges to that load.
    ctl, atl = activities.fitness([80.0] * 1000)
    assert ctl == pytest.approx(80.0) and atl == pytest.approx(80.0)
