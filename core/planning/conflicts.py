"""Planning rules: does a workout fit the athlete's availability, and what would fit instead.

Availability is the weekly pattern (times, equipment, a cap on minutes per
weekday) plus a Calendar of dated facts: unavailable ranges and the minutes
already planned on each day.

Pure functions over plain dicts, so the services, the tools and plan generation
share them and tests need no database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.clock import DAY_NAMES, day_of_week
from core.fields import TIMES_OF_DAY
from core.planning.blackouts import covering
from core.planning.blackouts import describe as describe_blackout

Availability = Mapping[int, Mapping[str, Any]]


@dataclass(frozen=True)
class Calendar:
    """Dated limits: unavailable ranges, and minutes already planned per day (other workouts)."""

    blackouts: Sequence[dict[str, Any]] = ()
    booked: Mapping[dt.date, int] = field(default_factory=dict)


def _dated_problems(
    workout: Mapping[str, Any], day: Mapping[str, Any] | None, calendar: Calendar
) -> list[str]:
    blackout = covering(calendar.blackouts, workout["date"])
    if blackout is not None:
        return [f"You are unavailable on {workout['date']}: {describe_blackout(blackout)}"]
    cap = day.get("max_minutes") if day else None
    total = calendar.booked.get(workout["date"], 0) + (workout.get("duration_minutes") or 0)
    if cap and total > cap:
        name = DAY_NAMES[day_of_week(workout["date"])]
        return [f"{name}s are limited to {cap} minutes of training; this makes {total}"]
    return []


def availability_problems(
    workout: Mapping[str, Any], availability: Availability, calendar: Calendar | None = None
) -> list[str]:
    """Reasons the workout does not fit that day (empty when it fits)."""
    if workout["type"] == "Rest":
        return []
    day = availability.get(day_of_week(workout["date"]))
    problems = _dated_problems(workout, day, calendar or Calendar())
    if day is None:
        return problems
    name = DAY_NAMES[day_of_week(workout["date"])]
    slot = workout.get("time_of_day")
    if not any(day[t] for t in TIMES_OF_DAY):
        problems.append(f"You marked yourself unavailable all day on {name}s")
    elif slot and not day[slot]:
        problems.append(f"You marked yourself unavailable in the {slot} on {name}s")
    if workout["type"] == "Ride" and not day["bike_access"]:
        problems.append(f"You don't have bike access on {name}s")
    if workout["type"] == "Gym" and not day["gym_access"]:
        problems.append(f"You don't have gym access on {name}s")
    location = workout.get("location")
    if day["indoor_only"] and location == "outdoor":
        problems.append(f"{name} is marked indoor only")
    if day["outdoor_only"] and location == "indoor":
        problems.append(f"{name} is marked outdoor only")
    return problems


def _slots(day: Mapping[str, Any] | None) -> list[str]:
    if day is None:
        return list(TIMES_OF_DAY)
    return [t for t in TIMES_OF_DAY if day[t]]


def suggest_alternatives(
    workout: Mapping[str, Any],
    availability: Availability,
    *,
    today: dt.date,
    taken: set[tuple[dt.date, str | None]] | None = None,
    limit: int = 3,
    calendar: Calendar | None = None,
) -> list[str]:
    """Dates (and times) near the wanted one that fit availability, nearest first."""
    wanted: dt.date = workout["date"]
    taken = taken or set()
    out: list[str] = []
    slot = workout.get("time_of_day")
    # Same day at another time first: the smallest change that works.
    if slot:
        for other in _slots(availability.get(day_of_week(wanted))):
            candidate = {**workout, "time_of_day": other}
            if other != slot and not availability_problems(candidate, availability, calendar):
                out.append(f"{DAY_NAMES[day_of_week(wanted)]} {wanted.isoformat()} ({other})")
                break
    offsets = sorted((d for d in range(-3, 8) if d), key=lambda d: (abs(d), d))
    for offset in offsets:
        day = wanted + dt.timedelta(days=offset)
        if day < today or len(out) >= limit:
            continue
        slots = _slots(availability.get(day_of_week(day)))
        pick = slot if slot in slots else (slots[0] if slots else None)
        candidate = {**workout, "date": day, "time_of_day": pick if slot else None}
        if pick is None or (day, candidate["time_of_day"]) in taken:
            continue
        if not availability_problems(candidate, availability, calendar):
            when = f" ({candidate['time_of_day']})" if candidate["time_of_day"] else ""
            out.append(f"{DAY_NAMES[day_of_week(day)]} {day.isoformat()}{when}")
    return out[:limit]
