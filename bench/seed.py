"""The benchmark athlete: five years of activities and wellness, two years of planned workouts.

About 1,800 activities and wellness rows (one a day), 730 planned workouts (720
past and completed, 10 in the next 14 days with descriptions and steps), availability for
all seven days (three with notes, one with a gym, two with a daily cap), three
unavailable days just after the next 14, and an active plan with older
superseded ones behind it. Linked to the fake Intervals.icu when one is given, with
the upcoming workouts already synced there, as a real athlete's would be.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from core.access import athletes
from core.clock import today_in
from core.sync.events import to_event
from core.sync.outbox import workout_dict
from storage import db
from storage.models import (
    Activity,
    PlannedWorkout,
    TrainingAvailability,
    UnavailableDates,
    WeeklyTrainingPlan,
    Wellness,
    short_id,
)
from tests.fakes.intervals import FakeIntervals
from tests.helpers.plans import SWEET_SPOT

TIMEZONE = "Europe/Berlin"
ACTIVITY_DAYS = 1_800
PAST_PLANNED_DAYS = 720
UPCOMING_OFFSETS = tuple(i + i // 3 for i in range(10))  # 10 workouts over 14 days, 4 days free
FREE_OFFSETS = tuple(d for d in range(14) if d not in UPCOMING_OFFSETS)
CHUNK = 200
SPORTS = ("Ride", "Run", "Ride", "Swim", "Ride", "Run", "Ride")
DESCRIPTION = "Warm up 15 min, then 3 x 12 min at 90% FTP with 5 min easy between, cool down 10 min."


@dataclass(frozen=True)
class Seeded:
    """Who was made: ids to address the athlete and their upcoming workouts."""

    athlete_id: int
    platform: str
    user_id: str
    today: dt.date
    upcoming: list[str]


def _insert(model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        model.insert_many(rows[start : start + CHUNK]).execute()


def _history(athlete_id: int, today: dt.date) -> None:
    activities, wellness = [], []
    for n in range(1, ACTIVITY_DAYS + 1):
        day = today - dt.timedelta(days=n)
        sport = SPORTS[n % len(SPORTS)]
        activities.append(
            {
                "athlete": athlete_id,
                "remote_id": f"i{10_000_000 + n}",
                "start_date_local": dt.datetime.combine(day, dt.time(7, 30)),
                "type": sport,
                "name": f"Morning {sport.lower()} {n}",
                "moving_time": 2_700 + (n % 5) * 900,
                "distance": 30_000.0 + n % 20 * 1_000,
                "training_load": 40 + n % 60,
                "intensity": 0.7 + (n % 10) / 50,
                "average_watts": 190 + n % 40,
                "average_heartrate": 135 + n % 20,
                "source": "GARMIN_CONNECT",
                "raw": {"id": f"i{10_000_000 + n}", "type": sport, "icu_ftp": 265, "trainer": n % 4 == 0},
            }
        )
        wellness.append(
            {
                "athlete": athlete_id,
                "date": day,
                "ctl": 50 + (n % 30) / 2,
                "atl": 55 + (n % 17),
                "resting_hr": 48 + n % 5,
                "hrv": 60.0 + n % 12,
                "sleep_secs": 26_000 + n % 7 * 600,
                "raw": {"id": day.isoformat(), "ctl": 50 + (n % 30) / 2},
            }
        )
    _insert(Activity, activities)
    _insert(Wellness, wellness)


def _plans_and_availability(athlete_id: int, today: dt.date) -> None:
    old = [
        {
            "id": short_id(),
            "athlete": athlete_id,
            "week_start": today - dt.timedelta(days=7 * w),
            "week_end": today - dt.timedelta(days=7 * w - 6),
            "days_planned": 7,
            "status": "SUPERSEDED",
            "summary": "Base block.",
        }
        for w in range(1, 105)
    ]
    _insert(WeeklyTrainingPlan, old)
    WeeklyTrainingPlan.create(
        athlete=athlete_id,
        week_start=today,
        week_end=today + dt.timedelta(days=13),
        days_planned=14,
        total_tss=880,
        workout_count=10,
        summary="Build threshold while keeping long ride volume; one recovery day after each block.",
        focus="mixed",
    )
    notes = {1: "Commute by bike", 3: "Gym at lunch only", 6: "Long ride day, up to 4 hours"}
    # Caps every scenario's workouts fit under, whatever weekday the benchmark runs on.
    caps = {1: 90, 3: 120}
    for day in range(7):
        TrainingAvailability.create(
            athlete=athlete_id,
            day_of_week=day,
            gym_access=day == 3,
            notes=notes.get(day, ""),
            max_minutes=caps.get(day),
        )
    UnavailableDates.create(
        athlete=athlete_id,
        start_date=today + dt.timedelta(days=16),
        end_date=today + dt.timedelta(days=18),
        reason="Work trip",
    )


# Generated plans give every ride and run steps (rides: an hour of sweet spot).
RUN_STEPS = [
    {"kind": "warmup", "minutes": 10, "hr_zone": 1},
    {"kind": "steady", "minutes": 55, "hr_zone": 2},
    {"kind": "cooldown", "minutes": 10, "hr_zone": 1},
]


def _planned(athlete_id: int, today: dt.date) -> list[str]:
    past = [
        {
            "id": short_id(),
            "athlete": athlete_id,
            "date": today - dt.timedelta(days=n),
            "title": f"Endurance {n}",
            "description": DESCRIPTION,
            "type": SPORTS[n % len(SPORTS)],
            "duration_minutes": 60 + n % 4 * 15,
            "tss": 50 + n % 40,
            "intensity": "moderate",
            "time_of_day": "morning",
            "completed": True,
            "remote_event_id": 500_000 + n,
        }
        for n in range(1, PAST_PLANNED_DAYS + 1)
    ]
    _insert(PlannedWorkout, past)
    upcoming = []
    for i, offset in enumerate(UPCOMING_OFFSETS):
        row = PlannedWorkout.create(
            athlete=athlete_id,
            date=today + dt.timedelta(days=offset),
            title=f"Sweet spot {i}" if i % 3 else f"Long run {i}",
            description=DESCRIPTION,
            type="Ride" if i % 3 else "Run",
            duration_minutes=60 if i % 3 else 75,
            tss=80,
            steps=SWEET_SPOT if i % 3 else RUN_STEPS,
            intensity="moderate",
            time_of_day="evening",
        )
        upcoming.append(str(row.id))
    return upcoming


def _fill(athlete_id: int, today: dt.date) -> list[str]:
    with db.transaction():
        _history(athlete_id, today)
        _plans_and_availability(athlete_id, today)
        return _planned(athlete_id, today)


def _mark_remote(ids: dict[str, int]) -> None:
    for workout_id, event_id in ids.items():
        PlannedWorkout.update(remote_event_id=event_id).where(PlannedWorkout.id == workout_id).execute()


def _dicts(ids: list[str]) -> list[dict[str, Any]]:
    return [workout_dict(PlannedWorkout.get_by_id(i)) for i in ids]


async def seed_athlete(
    platform: str = "telegram",
    user_id: str = "bench-athlete",
    fake: FakeIntervals | None = None,
    remote_id: str = "i4242",
    key: str = "bench-key-0123456789",
) -> Seeded:
    """Make the athlete (with a chat identity) and their history; link and mirror to ``fake`` if given."""
    athlete_id = await athletes.identify(platform, user_id, user_id, name="Ann", timezone=TIMEZONE)
    today = today_in(TIMEZONE)
    upcoming = await db.call(_fill, athlete_id, today)
    if fake is not None:
        fake.add_athlete(remote_id, key, {"name": "Ann", "timezone": TIMEZONE})
        await athletes.link(athlete_id, remote_id, key, ftp=265)
        mirrored = {
            w["id"]: int(fake.add_event(remote_id, to_event(w))["id"])
            for w in await db.call(_dicts, upcoming)
        }
        await db.call(_mark_remote, mirrored)
    return Seeded(athlete_id, platform, user_id, today, upcoming)
