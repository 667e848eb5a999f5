"""Undo: show the last change made through the bot in the last 24 hours, revert it on "Undo".

A revert goes through the same services and sync outbox as any write, so it
reaches Intervals.icu (or waits in the queue) and is reported with its sync
status. It is not itself logged, so the next undo goes one change further back.
A saved plan is undone as one change: its workouts go, the ones it replaced
come back, and the plans it superseded are active again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from peewee import fn

from core import actions, cache
from core.errors import CoachError, NotFound
from core.fields import WorkoutDraft
from core.messages import Button
from core.planning import availability, blackouts, changes, steps, workouts
from core.sync import outbox as sync
from core.sync.intervals import IntervalsPool
from storage import db
from storage.models import Athlete, ChangeLog, PlannedWorkout, WeeklyTrainingPlan, utcnow

logger = logging.getLogger(__name__)

KIND = "undo_change"
DRAFT_FIELDS = tuple(WorkoutDraft.model_fields)
Outcome = tuple[str, str | None]


def _ago(when: dt.datetime) -> str:
    minutes = int((utcnow() - when).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    return f"{minutes // 60} h ago"


async def offer(athlete_id: int) -> tuple[str, tuple[Button, ...]]:
    """The last change in words and the buttons to undo it (none when there is nothing to undo)."""
    change = await db.call(changes.latest, athlete_id)
    if change is None:
        return "There is nothing I changed for you in the last 24 hours left to undo.", ()
    buttons = await actions.offer(athlete_id, KIND, {"change_id": change.id})
    return f"Your last change ({_ago(change.created_at)}): I {change.summary}. Undo it?", buttons


def _claim(athlete_id: int, change_id: int) -> ChangeLog | str:
    """The change, now marked undone; or why it can't be undone."""
    later = ChangeLog.select().where(
        (ChangeLog.athlete == athlete_id) & (ChangeLog.id > change_id) & ChangeLog.undone_at.is_null()
    )
    # Only the latest change may go: reverting an older one under a newer one would undo out of order
    # (an old "Undo" button). One conditional UPDATE, so two presses can't both pass the check.
    claimed = (
        ChangeLog.update(undone_at=utcnow())
        .where(
            (ChangeLog.id == change_id)
            & (ChangeLog.athlete == athlete_id)
            & ChangeLog.undone_at.is_null()
            & (ChangeLog.created_at > utcnow() - changes.WINDOW)
            & ~fn.EXISTS(later)
        )
        .execute()
    )
    if claimed:
        return ChangeLog.get_by_id(change_id)
    if later.exists():
        return (
            "You changed something after that Undo button was made, so it would undo out of order. "
            "Use /undo to see the last change."
        )
    return "That change is already undone, or too old to undo."


def _unclaim(change_id: int) -> None:
    ChangeLog.update(undone_at=None).where(ChangeLog.id == change_id).execute()


async def _undo_create(pool: IntervalsPool, athlete_id: int, p: dict[str, Any]) -> Outcome:
    try:
        result = await workouts.delete_workout(pool, athlete_id, p["workout_id"])
    except NotFound:
        return "The workout was already gone.", None
    return "The workout is removed.", result.sync_status


async def _undo_update(pool: IntervalsPool, athlete_id: int, p: dict[str, Any]) -> Outcome:
    result = await workouts.update_workout(pool, athlete_id, p["workout_id"], p["before"], override=True)
    return "The workout is back as it was.", result.sync_status


async def _undo_delete(pool: IntervalsPool, athlete_id: int, p: dict[str, Any]) -> Outcome:
    fields = {k: p["workout"][k] for k in DRAFT_FIELDS}
    result = await workouts.create_workout(pool, athlete_id, fields, override=True)
    return "The workout is back.", result.sync_status


async def _undo_availability(pool: IntervalsPool, athlete_id: int, p: dict[str, Any]) -> Outcome:
    before = p["before"]
    if before is None:
        await availability.unset_day(athlete_id, p["day_of_week"])
    else:
        fields = {k: before[k] for k in (*availability.FLAGS, "notes", "day_of_week")}
        await availability.update_availability(
            athlete_id, {**fields, "max_minutes": before["max_minutes"] or 0}
        )
    return "Your availability is back as it was.", None


async def _undo_unavailable(pool: IntervalsPool, athlete_id: int, p: dict[str, Any]) -> Outcome:
    await db.call(blackouts.restore, athlete_id, p["before"])
    return "Your unavailable dates are back as they were.", None


def _unsave_plan(athlete_id: int, p: dict[str, Any]) -> tuple[list[str], int]:
    """Remove a saved plan's open workouts and bring back those it replaced, in one transaction."""
    with db.transaction():
        athlete = Athlete.get_by_id(athlete_id)
        ours = PlannedWorkout.select().where(
            (PlannedWorkout.athlete == athlete_id)
            & (PlannedWorkout.plan == p["plan_id"])
            & (PlannedWorkout.completed == False)  # noqa: E712
        )
        items = [workouts.remove_row(athlete, row) for row in ours]
        removed = len(items)
        WeeklyTrainingPlan.update(status="UNDONE").where(WeeklyTrainingPlan.id == p["plan_id"]).execute()
        WeeklyTrainingPlan.update(status="ACTIVE").where(
            WeeklyTrainingPlan.id.in_(p["superseded"]) & (WeeklyTrainingPlan.status == "SUPERSEDED")
        ).execute()
        plans_left = {w.id for w in WeeklyTrainingPlan.select(WeeklyTrainingPlan.id).where(
            WeeklyTrainingPlan.id.in_([s["plan"] for s in p["replaced"] if s["plan"]])
        )}  # fmt: skip
        for snapshot in p["replaced"]:
            draft = WorkoutDraft.model_validate({k: snapshot[k] for k in DRAFT_FIELDS})
            plan = snapshot["plan"] if snapshot["plan"] in plans_left else None
            items.append(workouts.insert_row(athlete, steps.apply(draft.model_dump()), plan)[1])
        return [item for item in items if item], removed


async def _undo_plan(pool: IntervalsPool, athlete_id: int, p: dict[str, Any]) -> Outcome:
    items, removed = await db.call(_unsave_plan, athlete_id, p)
    cache.invalidate("plan", athlete_id)
    status = sync.overall(await sync.push_batch(pool, items))
    back = len(p["replaced"])
    return f"Removed the plan's {removed} workouts and brought back the {back} it had replaced.", status


_REVERTS: dict[str, Callable[[IntervalsPool, int, dict[str, Any]], Awaitable[Outcome]]] = {
    "create": _undo_create,
    "update": _undo_update,
    "delete": _undo_delete,
    "availability": _undo_availability,
    "unavailable": _undo_unavailable,
    "plan": _undo_plan,
}


async def revert(pool: IntervalsPool, athlete_id: int, change_id: int) -> Outcome:
    """Undo one logged change, once; returns the athlete-facing text and the sync status."""
    change = await db.call(_claim, athlete_id, change_id)
    if isinstance(change, str):
        return change, None
    try:
        with changes.paused():
            text, status = await _REVERTS[change.kind](pool, athlete_id, dict(change.payload))
    except CoachError as exc:
        await db.call(_unclaim, change_id)
        logger.warning("undo of change %s failed: %s", change_id, exc.user_message)
        return f"I couldn't undo that: {exc.user_message}", None
    logger.info("change %s (%s) undone for athlete %s", change_id, change.kind, athlete_id)
    return f"Undone ({change.summary}). {text}", status
