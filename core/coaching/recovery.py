"""Recovery alerts: poor recovery on a day with a hard workout, and three ways to respond.

Signals, from the day's wellness: resting HR more than ``resting_hr_pct`` above
its average over the 7 days before, HRV more than ``hrv_pct`` below its
average, or form (TSB = CTL - ATL) below ``tsb``. An average needs at least
three of those days. Checked after every pull (new wellness arrives with it)
and at the morning message; at most one alert a day, and only when a hard
workout of ours is planned that day (the athlete's own Intervals.icu events
are read-only here, so no button could change them).

Hard: intensity "hard" or "very_hard"; a workout without an intensity is hard
when its TSS and duration imply an intensity factor of 0.85 or more
(IF = sqrt(TSS / (hours x 100))).

The buttons act through the workout service, so the change is synced through
the outbox like any other: "Make today easy" turns the workout into an easy one
of at most half its duration without its steps (even on a day since marked
unavailable: the athlete chose to train), "Rest today" moves it to the next
free day that fits the athlete's availability, unavailable dates and daily
limits, "Keep the plan" changes nothing. The buttons last until midnight, so an
alert that quiet hours would hold past midnight is not sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core import actions
from core.clock import naive_utc, zone
from core.coaching import pushes
from core.config import Settings
from core.errors import Conflict
from core.fields import TIMES_OF_DAY
from core.planning import workouts
from core.planning.conflicts import availability_problems
from core.sync.intervals import IntervalsPool
from storage import db
from storage.models import Athlete, PlannedWorkout, Wellness

logger = logging.getLogger(__name__)

KIND = "recovery"
HARD = ("hard", "very_hard")
HARD_IF = 0.85
EASY_IF = 0.6
MIN_DAYS = 3
MOVE_WITHIN_DAYS = 14


@dataclass(frozen=True)
class Thresholds:
    """When a signal fires (settings RECOVERY_RESTING_HR_PCT, RECOVERY_HRV_PCT, RECOVERY_TSB)."""

    resting_hr_pct: float = 10.0
    hrv_pct: float = 15.0
    tsb: float = -30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        """The thresholds an operator set."""
        return cls(settings.recovery_resting_hr_pct, settings.recovery_hrv_pct, settings.recovery_tsb)


@dataclass
class _Config:
    thresholds: Thresholds = Thresholds()


config = _Config()


def configure(settings: Settings) -> None:
    """Use the operator's thresholds in this process (each process calls this once at start)."""
    config.thresholds = Thresholds.from_settings(settings)


def _average(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v]
    return sum(known) / len(known) if len(known) >= MIN_DAYS else None


def signals(today: Wellness, before: Sequence[Wellness], limits: Thresholds) -> list[str]:
    """What in today's wellness says recovery is poor, in words (empty when nothing does)."""
    found = []
    hr = _average([w.resting_hr for w in before])
    if today.resting_hr and hr and today.resting_hr > hr * (1 + limits.resting_hr_pct / 100):
        found.append(
            f"resting HR {today.resting_hr} bpm is {round(100 * (today.resting_hr / hr - 1))} % above "
            f"your 7-day average ({round(hr)} bpm)"
        )
    hrv = _average([w.hrv for w in before])
    if today.hrv and hrv and today.hrv < hrv * (1 - limits.hrv_pct / 100):
        found.append(
            f"HRV {round(today.hrv)} ms is {round(100 * (1 - today.hrv / hrv))} % below "
            f"your 7-day average ({round(hrv)} ms)"
        )
    if today.ctl is not None and today.atl is not None and today.ctl - today.atl < limits.tsb:
        found.append(f"form (TSB) is {round(today.ctl - today.atl)}, below {round(limits.tsb)}")
    return found


def is_hard(w: PlannedWorkout) -> bool:
    """Whether a planned workout is hard (its intensity, else the intensity factor its TSS implies)."""
    if w.intensity:
        return w.intensity in HARD
    if not (w.tss and w.duration_minutes):
        return False
    return math.sqrt(w.tss / (w.duration_minutes / 60 * 100)) >= HARD_IF


def _hardest_today(athlete_id: int, day: dt.date) -> PlannedWorkout | None:
    planned = PlannedWorkout.select().where(
        (PlannedWorkout.athlete == athlete_id)
        & (PlannedWorkout.date == day)
        & (PlannedWorkout.completed == False)  # noqa: E712
        & (PlannedWorkout.origin == "coach")
    )
    hard = [w for w in planned if is_hard(w)]
    return max(hard, key=lambda w: (w.intensity == "very_hard", w.tss or 0), default=None)


def _describe(w: PlannedWorkout) -> str:
    facts = [w.type] + ([f"{w.duration_minutes} min"] if w.duration_minutes else [])
    facts += [(w.intensity or "hard").replace("_", " ")]
    return f"{w.title!r} ({', '.join(facts)})"


def _check(athlete_id: int, now: dt.datetime, limits: Thresholds) -> bool:
    with db.transaction():
        athlete = Athlete.get_by_id(athlete_id)
        local = now.astimezone(zone(athlete.timezone))
        today = local.date()
        rows = list(
            Wellness.select().where(
                (Wellness.athlete == athlete_id)
                & (Wellness.date >= today - dt.timedelta(days=7))
                & (Wellness.date <= today)
            )
        )
        current = next((w for w in rows if w.date == today), None)
        found = signals(current, [w for w in rows if w.date < today], limits) if current else []
        workout = _hardest_today(athlete_id, today) if found else None
        midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), local.tzinfo)
        push = pushes.claim(athlete_id, KIND, today.isoformat(), now, expires=midnight) if workout else None
        if push is None or workout is None:
            return False
        buttons = actions.create(
            athlete_id, KIND, {"workout_id": workout.id, "date": today.isoformat()}, naive_utc(midnight)
        )
        signal = "; ".join(found)
        text = (
            f"⚠️ Recovery check: your {signal}. Today's {_describe(workout)} may cost more than it "
            "brings. Make it easy, move it to your next free day, or keep the plan?"
        )
        pushes.fill(push.id, text, buttons)
        return True


async def check(athlete_id: int, now: dt.datetime) -> bool:
    """Queue today's recovery alert if a signal fires and something hard is planned; True when queued."""
    return await db.call(_check, athlete_id, now, config.thresholds)


def easy_version(w: PlannedWorkout) -> dict[str, Any]:
    """The changes that make a workout easy: at most half its duration, low intensity, no steps."""
    minutes = max(1, w.duration_minutes // 2) if w.duration_minutes else 30
    return {
        # The steps are what made it hard, and they would no longer add up to the duration.
        "steps": [],
        "title": f"Easy {w.type.lower()} (instead of {w.title})"[:200],
        "description": "Recovery day: keep it easy, zone 1-2, conversational effort throughout.",
        "duration_minutes": minutes,
        "tss": round(minutes / 60 * 100 * EASY_IF**2),
        "intensity": "easy",
    }


def _free_day(athlete_id: int, w: PlannedWorkout) -> dict[str, Any] | None:
    """The first day after the workout's with nothing planned where it fits (date, slot).

    Fits as the workout service checks it: the weekly availability, unavailable dates and daily limits.
    """
    first, last = w.date + dt.timedelta(days=1), w.date + dt.timedelta(days=MOVE_WITHIN_DAYS)
    availability = workouts.availability_map(athlete_id)
    dated = workouts.calendar(athlete_id, first, last)
    busy = {
        row.date
        for row in PlannedWorkout.select(PlannedWorkout.date).where(
            (PlannedWorkout.athlete == athlete_id)
            & (PlannedWorkout.date.between(first, last))
            & (PlannedWorkout.completed == False)  # noqa: E712
            & (PlannedWorkout.type != "Rest")
        )
    }
    slots = [w.time_of_day, *(t for t in TIMES_OF_DAY if t != w.time_of_day)] if w.time_of_day else [None]
    for offset in range(1, MOVE_WITHIN_DAYS + 1):
        day = w.date + dt.timedelta(days=offset)
        if day in busy:
            continue
        for slot in slots:
            moved = {**w.__data__, "date": day, "time_of_day": slot}
            if not availability_problems(moved, availability, dated):
                return {"date": day.isoformat(), "time_of_day": slot} if slot else {"date": day.isoformat()}
    return None


def _planned_today(athlete_id: int, payload: dict[str, Any]) -> PlannedWorkout | None:
    return PlannedWorkout.get_or_none(
        (PlannedWorkout.id == payload["workout_id"])
        & (PlannedWorkout.athlete == athlete_id)
        & (PlannedWorkout.date == dt.date.fromisoformat(payload["date"]))
        & (PlannedWorkout.completed == False)  # noqa: E712
    )


async def respond(
    pool: IntervalsPool, athlete_id: int, choice: str, payload: dict[str, Any]
) -> tuple[str, str | None]:
    """Carry out the athlete's answer to a recovery alert; the reply text and the sync status."""
    if choice == "keep":
        return "OK, the plan stays. Warm up well, and back off if it feels wrong.", None
    workout = await db.call(_planned_today, athlete_id, payload)
    if workout is None:
        return "That workout is no longer planned for that day, so I changed nothing.", None
    if choice == "easy":
        # The athlete chose to train today, easy: a clash with their availability is named, not refused.
        result = await workouts.update_workout(
            pool, athlete_id, workout.id, easy_version(workout), override=True
        )
        clash = f" Note: {'; '.join(result.warnings)}." if result.warnings else ""
        return (
            f"Made it easy: {result.data['title']}, {result.data['duration_minutes']} min. "
            f"{result.message}{clash}",
            result.sync_status,
        )
    target = await db.call(_free_day, athlete_id, workout)
    if target is None:
        return (
            f"I found no free day in the next {MOVE_WITHIN_DAYS} days that fits your availability. "
            f"Tell me where {workout.title!r} should go.",
            None,
        )
    try:
        result = await workouts.update_workout(pool, athlete_id, workout.id, target)
    except Conflict as exc:
        return f"I couldn't move it: {exc.user_message}", None
    return f"Rest today: {workout.title!r} moved to {target['date']}. {result.message}", result.sync_status
