"""Training availability: one row per athlete and weekday (0 = Sunday)."""

from __future__ import annotations

import logging
from typing import Any

from core import cache
from core.access import athletes
from core.clock import DAY_NAMES, today_in
from core.errors import ValidationError
from core.feedback import Feedback
from core.fields import AvailabilityChanges, parse
from core.planning import blackouts, changes
from storage import db
from storage.models import TrainingAvailability, utcnow

logger = logging.getLogger(__name__)

FLAGS = (
    "morning",
    "afternoon",
    "evening",
    "bike_access",
    "gym_access",
    "indoor_only",
    "outdoor_only",
)


def _day_dict(day: int, row: TrainingAvailability | None) -> dict[str, Any]:
    # An athlete who never said otherwise is taken as available, with a bike, no gym.
    source = row.__data__ if row else {f.name: f.default for f in TrainingAvailability._meta.sorted_fields}
    out: dict[str, Any] = {"day_of_week": day, "day_name": DAY_NAMES[day]}
    out.update({flag: bool(source[flag]) for flag in FLAGS})
    out["notes"] = source["notes"] or ""
    out["max_minutes"] = source["max_minutes"]
    return out


def describe(day: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """A day's (free times, equipment, limits) in words."""
    times = [t for t in ("morning", "afternoon", "evening") if day[t]]
    kit = [k for k, f in (("bike", "bike_access"), ("gym", "gym_access")) if day[f]]
    limits = [c for c, f in (("indoor only", "indoor_only"), ("outdoor only", "outdoor_only")) if day[f]]
    if day.get("max_minutes"):
        limits.append(f"max {day['max_minutes']} min")
    return times, kit, limits


def read_week(athlete_id: int) -> list[dict[str, Any]]:
    """All seven days, Sunday first, defaults filled in (cached; sync, call through db.call)."""
    return cache.get("availability", athlete_id, lambda: _load_week(athlete_id))


def _load_week(athlete_id: int) -> list[dict[str, Any]]:
    rows = {
        r.day_of_week: r
        for r in TrainingAvailability.select().where(TrainingAvailability.athlete == athlete_id)
    }
    return [_day_dict(day, rows.get(day)) for day in range(7)]


def _read(athlete_id: int) -> dict[str, Any]:
    today = today_in(athletes.get(athlete_id).timezone)
    return {"availability": read_week(athlete_id), "unavailable_dates": blackouts.upcoming(athlete_id, today)}


async def get_availability(athlete_id: int) -> Feedback:
    """The athlete's weekly availability (design: get_training_availability)."""
    return Feedback(True, "Weekly availability.", data=await db.call(_read, athlete_id))


def _write(athlete_id: int, wanted: AvailabilityChanges) -> dict[str, Any]:
    day = wanted.day_of_week
    delta = wanted.model_dump(exclude_unset=True, exclude={"day_of_week"})
    with db.transaction():
        row = TrainingAvailability.get_or_none(
            (TrainingAvailability.athlete == athlete_id) & (TrainingAvailability.day_of_week == day)
        )
        before = _day_dict(day, row)
        # A day never set is recorded as such, so undo makes it unset again rather than set to the defaults.
        changes.record(
            athlete_id,
            "availability",
            f"changed your {DAY_NAMES[day]} availability",
            {"day_of_week": day, "before": before if row is not None else None},
        )
        merged = {**before, **delta}
        if merged["indoor_only"] and merged["outdoor_only"]:
            raise ValidationError("A day can not be both indoor only and outdoor only.")
        if row is None:
            row = TrainingAvailability(athlete=athlete_id, day_of_week=day)
        for key in (*FLAGS, "notes"):
            setattr(row, key, merged[key])
        row.max_minutes = merged["max_minutes"] or None  # 0 lifts the limit
        row.updated_at = utcnow()
        row.save()
        return _day_dict(day, row)


def _unset(athlete_id: int, day: int) -> None:
    TrainingAvailability.delete().where(
        (TrainingAvailability.athlete == athlete_id) & (TrainingAvailability.day_of_week == day)
    ).execute()


async def unset_day(athlete_id: int, day: int) -> None:
    """Forget what the athlete set for a weekday: it reads as the defaults and no conflict check applies."""
    await db.call(_unset, athlete_id, day)
    cache.invalidate("availability", athlete_id)
    logger.info("availability of athlete %s unset for %s", athlete_id, DAY_NAMES[day])


async def update_availability(athlete_id: int, wanted: Any) -> Feedback:
    """Change one weekday's availability (design: update_training_availability)."""
    parsed = parse(AvailabilityChanges, wanted)
    day = await db.call(_write, athlete_id, parsed)
    cache.invalidate("availability", athlete_id)
    logger.info("availability of athlete %s updated for %s", athlete_id, day["day_name"])
    return Feedback(True, f"Availability for {day['day_name']} updated.", data=day)
