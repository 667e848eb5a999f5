"""Planned-workout service: list, get, create, update, delete, always for one athlete.

Each write validates, checks ownership and conflicts, saves the row and its
sync item in one transaction, then tries Intervals.icu at once (see core.sync.outbox).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from core.clock import today_in
from core.errors import Conflict, Forbidden, NotFound, ValidationError
from core.feedback import SYNC_MESSAGES, Feedback
from core.fields import TIMES_OF_DAY, WorkoutChanges, WorkoutDraft, parse, parse_date
from core.planning import blackouts, changes, steps
from core.planning.conflicts import Calendar, availability_problems, suggest_alternatives
from core.sync import outbox as sync
from core.sync.intervals import IntervalsPool
from storage import db
from storage.models import Athlete, PlannedWorkout, TrainingAvailability, utcnow

logger = logging.getLogger(__name__)

DEFAULT_WINDOW_DAYS = 14
MAX_WINDOW_DAYS = 366


def _athlete(athlete_id: int) -> Athlete:
    athlete = Athlete.get_or_none(Athlete.id == athlete_id)
    if athlete is None:
        raise NotFound("Athlete not found.")
    return athlete


def _owned(athlete_id: int, workout_id: Any) -> PlannedWorkout:
    # Another athlete's workout gets the same answer as a missing one: ids leak nothing.
    row = None
    if isinstance(workout_id, str) and 0 < len(workout_id) <= 16:
        row = PlannedWorkout.get_or_none(
            (PlannedWorkout.id == workout_id) & (PlannedWorkout.athlete == athlete_id)
        )
    if row is None:
        raise NotFound(f"No planned workout with id {str(workout_id)[:20]!r}.")
    return row


def in_day_order(workout: Any) -> tuple[dt.date, int]:
    """Sort key of workouts (rows or drafts): by date, then morning, afternoon, evening, then any time.

    Sorted here, not by the database: ORDER BY time_of_day is alphabetical, and SQLite and PostgreSQL put
    NULL at opposite ends.
    """
    slot = workout.time_of_day
    return workout.date, TIMES_OF_DAY.index(slot) if slot in TIMES_OF_DAY else len(TIMES_OF_DAY)


def _writable(athlete_id: int, workout_id: Any) -> PlannedWorkout:
    row = _owned(athlete_id, workout_id)
    if row.origin != "coach":
        raise Forbidden(
            f"{row.title!r} was made in Intervals.icu, so I only read it. Change it there, or ask me "
            "for a new workout instead."
        )
    return row


def availability_map(athlete_id: int) -> dict[int, dict[str, Any]]:
    """The weekdays (0 = Sunday) the athlete has set, with their flags; unset days are absent."""
    rows = TrainingAvailability.select().where(TrainingAvailability.athlete == athlete_id)
    return {r.day_of_week: r.__data__ for r in rows}


def calendar(
    athlete_id: int, first: dt.date, last: dt.date, leaving: Any = None, *, capped: bool = True
) -> Calendar:
    """Unavailable ranges and the minutes planned per day from ``first`` to ``last``.

    ``leaving``: a condition on the workouts about to go (moved or replaced), which do not count.
    ``capped``: whether any weekday has a cap; without one the minutes are not needed.
    """
    dated = blackouts.ranges(athlete_id, first, last)
    if not capped:
        return Calendar(dated)
    query = PlannedWorkout.select(PlannedWorkout.date, PlannedWorkout.duration_minutes).where(
        (PlannedWorkout.athlete == athlete_id)
        & (PlannedWorkout.date >= first)
        & (PlannedWorkout.date <= last)
        & (PlannedWorkout.type != "Rest")
    )
    if leaving is not None:
        query = query.where(~leaving)
    booked: dict[dt.date, int] = {}
    for w in query:
        booked[w.date] = booked.get(w.date, 0) + (w.duration_minutes or 0)
    return Calendar(dated, booked)


def _check_conflicts(
    athlete: Athlete, fields: dict[str, Any], exclude_id: str | None, override: bool
) -> list[str]:
    """Raise Conflict unless overridden; return the warnings to report either way."""
    availability = availability_map(athlete.id)
    day: dt.date = fields["date"]
    # Wide enough for every date suggest_alternatives may offer.
    dated = calendar(
        athlete.id,
        day - dt.timedelta(days=3),
        day + dt.timedelta(days=7),
        (PlannedWorkout.id == exclude_id) if exclude_id else None,
        capped=any(day.get("max_minutes") for day in availability.values()),
    )
    warnings = availability_problems(fields, availability, dated)
    same_slot = PlannedWorkout.select().where(
        (PlannedWorkout.athlete == athlete.id)
        & (PlannedWorkout.date == fields["date"])
        & (PlannedWorkout.type == fields["type"])
        & (PlannedWorkout.completed == False)  # noqa: E712 (peewee expression)
    )
    if exclude_id:
        same_slot = same_slot.where(PlannedWorkout.id != exclude_id)
    duplicate = any(w.time_of_day == fields.get("time_of_day") for w in same_slot)
    if duplicate:
        when = fields.get("time_of_day") or "that day"
        warnings.append(f"There is already a {fields['type']} on {fields['date']} ({when})")
    if warnings and not override:
        taken = {
            (w.date, w.time_of_day)
            for w in PlannedWorkout.select(PlannedWorkout.date, PlannedWorkout.time_of_day).where(
                (PlannedWorkout.athlete == athlete.id) & (PlannedWorkout.type == fields["type"])
            )
        }
        suggestions = suggest_alternatives(
            fields, availability, today=today_in(athlete.timezone), taken=taken, calendar=dated
        )
        raise Conflict(
            "This workout conflicts with your schedule. Pick another day or confirm to keep it.",
            kind="duplicate" if duplicate and len(warnings) == 1 else "availability",
            warnings=warnings,
            suggestions=suggestions,
        )
    return warnings


def _sync_state(athlete: Athlete) -> str:
    return "PENDING" if athlete.connected else "LOCAL"


def insert_row(
    athlete: Athlete, fields: dict[str, Any], plan: int | None = None
) -> tuple[PlannedWorkout, str | None]:
    """A new workout row and, for a connected athlete, its queued create (call inside a transaction)."""
    row = PlannedWorkout.create(
        athlete=athlete.id, plan=plan, sync_status=_sync_state(athlete), modified_locally=True, **fields
    )
    item = (
        sync.enqueue(athlete.id, row.id, "create", {"date": row.date.isoformat()})
        if athlete.connected
        else None
    )
    return row, item


def remove_row(athlete: Athlete, row: PlannedWorkout) -> str | None:
    """Delete a workout row and, for a connected athlete, queue its removal (call inside a transaction)."""
    item = sync.enqueue_delete(athlete.id, row) if athlete.connected else None
    row.delete_instance()
    return item


def _create_row(athlete_id: int, draft: WorkoutDraft, override: bool) -> tuple[str, str | None, list[str]]:
    with db.transaction():
        athlete = _athlete(athlete_id)
        fields = steps.apply(draft.model_dump())
        warnings = _check_conflicts(athlete, fields, None, override)
        row, item = insert_row(athlete, fields)
        changes.record(athlete.id, "create", f"added {row.title!r} on {row.date}", {"workout_id": row.id})
        return row.id, item, warnings


def _update_row(
    athlete_id: int, workout_id: str, wanted: WorkoutChanges, override: bool
) -> tuple[str | None, list[str]]:
    with db.transaction():
        athlete = _athlete(athlete_id)
        row = _writable(athlete.id, workout_id)
        delta = wanted.model_dump(exclude_unset=True)
        if not delta:
            raise ValidationError("Nothing to change: give at least one field to update.")
        merged = {**row.__data__, **delta}
        if "steps" in delta or (row.steps and {"type", "duration_minutes"} & delta.keys()):
            # Steps, duration and TSS must keep agreeing: recomputed from the steps.
            merged = steps.apply(merged)
            delta.update({k: merged[k] for k in ("steps", "duration_minutes", "tss")})
        warnings = []
        if {"date", "type", "time_of_day", "location", "duration_minutes"} & delta.keys():
            warnings = _check_conflicts(athlete, merged, row.id, override)
        old_date = row.date
        before = sync.workout_dict(row)
        changes.record(
            athlete.id,
            "update",
            f"changed {row.title!r} on {old_date}",
            {"workout_id": row.id, "before": {k: before[k] for k in delta}},
        )
        for key, value in delta.items():
            setattr(row, key, value)
        row.sync_status, row.modified_locally, row.updated_at = _sync_state(athlete), True, utcnow()
        row.save()
        item = None
        if athlete.connected:
            item = sync.enqueue(athlete.id, row.id, "update", {"date": old_date.isoformat()})
        return item, warnings


def _delete_row(athlete_id: int, workout_id: str) -> tuple[dict[str, Any], str | None]:
    with db.transaction():
        athlete = _athlete(athlete_id)
        row = _writable(athlete.id, workout_id)
        snapshot = sync.workout_dict(row)
        changes.record(athlete.id, "delete", f"deleted {row.title!r} on {row.date}", {"workout": snapshot})
        return snapshot, remove_row(athlete, row)


async def _sync_outcome(pool: IntervalsPool, item_id: str | None) -> tuple[str | None, str]:
    if item_id is None:
        return None, SYNC_MESSAGES["local"]
    status = await sync.push(pool, item_id)
    if status == "failed":
        error = await db.call(sync.last_error, item_id)
        return "failed", SYNC_MESSAGES["failed"].format(error=error)
    status = status or "pending"
    return status, SYNC_MESSAGES[status]  # type: ignore[return-value]


def _read(athlete_id: int, workout_id: str) -> dict[str, Any]:
    return sync.workout_dict(_owned(athlete_id, workout_id))


async def get_workout(athlete_id: int, workout_id: str) -> Feedback:
    """One workout of this athlete."""
    data = await db.call(_read, athlete_id, workout_id)
    return Feedback(True, "Found the workout.", data=data)


def _list(athlete_id: int, start: Any, end: Any, include_completed: bool) -> dict[str, Any]:
    athlete = _athlete(athlete_id)
    window = parse_range(start, end, today_in(athlete.timezone))
    query = PlannedWorkout.select().where(
        (PlannedWorkout.athlete == athlete.id)
        & (PlannedWorkout.date >= window[0])
        & (PlannedWorkout.date <= window[1])
    )
    if not include_completed:
        query = query.where(PlannedWorkout.completed == False)  # noqa: E712
    workouts = [sync.workout_dict(w) for w in sorted(query, key=in_day_order)]
    return {
        "count": len(workouts),
        "date_range": {"start": window[0].isoformat(), "end": window[1].isoformat()},
        "workouts": workouts,
    }


def parse_range(start: Any, end: Any, today: dt.date) -> tuple[dt.date, dt.date]:
    """A validated date window; defaults to today and 14 days after the start."""
    first = parse_date(start, "start_date") if start else today
    last = parse_date(end, "end_date") if end else first + dt.timedelta(days=DEFAULT_WINDOW_DAYS)
    if last < first:
        raise ValidationError("The end date is before the start date.")
    if (last - first).days > MAX_WINDOW_DAYS:
        raise ValidationError(f"Ask for at most {MAX_WINDOW_DAYS} days at a time.")
    return first, last


async def list_workouts(
    athlete_id: int, start: Any = None, end: Any = None, include_completed: bool = False
) -> Feedback:
    """Workouts in a date window (default: today + 14 days)."""
    data = await db.call(_list, athlete_id, start, end, include_completed)
    return Feedback(True, f"{data['count']} planned workouts.", data=data)


async def create_workout(
    pool: IntervalsPool, athlete_id: int, fields: Any, *, override: bool = False
) -> Feedback:
    """Validate, save locally, then sync; conflicts raise unless ``override``."""
    draft = parse(WorkoutDraft, fields)
    workout_id, item, warnings = await db.call(_create_row, athlete_id, draft, override)
    status, message = await _sync_outcome(pool, item)
    data = await db.call(_read, athlete_id, workout_id)
    logger.info("workout %s created for athlete %s (sync: %s)", workout_id, athlete_id, status)
    return Feedback(True, f"Workout created. {message}", data=data, sync_status=status, warnings=warnings)  # type: ignore[arg-type]


async def update_workout(
    pool: IntervalsPool, athlete_id: int, workout_id: str, wanted: Any, *, override: bool = False
) -> Feedback:
    """Change any subset of a workout's fields, then sync."""
    parsed = parse(WorkoutChanges, wanted)
    item, warnings = await db.call(_update_row, athlete_id, workout_id, parsed, override)
    status, message = await _sync_outcome(pool, item)
    data = await db.call(_read, athlete_id, workout_id)
    logger.info("workout %s updated for athlete %s (sync: %s)", workout_id, athlete_id, status)
    return Feedback(True, f"Workout updated. {message}", data=data, sync_status=status, warnings=warnings)  # type: ignore[arg-type]


async def delete_workout(
    pool: IntervalsPool, athlete_id: int, workout_id: str, reason: str | None = None
) -> Feedback:
    """Remove a workout locally and from Intervals.icu."""
    if reason is not None and len(reason) > 500:
        raise ValidationError("Keep the reason under 500 characters.")
    snapshot, item = await db.call(_delete_row, athlete_id, workout_id)
    status, message = await _sync_outcome(pool, item)
    logger.info("workout %s deleted for athlete %s (sync: %s)", workout_id, athlete_id, status)
    return Feedback(True, f"Workout deleted. {message}", data=snapshot, sync_status=status)  # type: ignore[arg-type]
