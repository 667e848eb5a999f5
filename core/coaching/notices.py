"""Messages the athlete gets without asking: sync failures, a refused key, today's workouts.

Each builder decides whether a notice is due and records that it was given, so
the athlete hears about a problem once, not once per retry. The sync-failure and
key notices go at once, sent by the caller (the worker's notifier); the morning
list of today's workouts is queued as a push (core/pushes.py), so quiet hours
and /notify apply. Plan previews are not notices: core/previews.py.
"""

from __future__ import annotations

import datetime as dt
import logging

from core import actions
from core.clock import zone
from core.coaching import pushes
from core.messages import Reply
from core.planning.workouts import in_day_order
from core.sync.outbox import MAX_ATTEMPTS
from storage import db
from storage.models import Athlete, PlannedWorkout, SyncQueue, utcnow

logger = logging.getLogger(__name__)

KEY_REJECTED = (
    "Intervals.icu no longer accepts your API key, so I can't sync your plan there. "
    "Your changes are kept here. Reconnect with /connect ATHLETE_ID API_KEY "
    "(Intervals.icu, Settings > Developer)."
)


def _failure_text(item_id: str) -> tuple[int, str] | None:
    with db.transaction():
        item = SyncQueue.get_or_none(SyncQueue.id == item_id)
        if item is None or item.status != "FAILED" or item.attempts < MAX_ATTEMPTS or item.notified_at:
            return None
        athlete = Athlete.get_by_id(item.athlete_id)
        if athlete.key_rejected_at is not None:
            if athlete.key_notified_at is not None:
                item.notified_at = utcnow()
                item.save()
                return None
            athlete.key_notified_at = item.notified_at = utcnow()
            athlete.save()
            item.save()
            return int(athlete.id), KEY_REJECTED
        row = PlannedWorkout.get_or_none(PlannedWorkout.id == item.entity_id)
        what = f"{row.title!r} on {row.date}" if row else "a deleted workout"
        item.notified_at = utcnow()
        item.save()
        verb = {"create": "add", "update": "update", "delete": "remove"}[item.operation]
        return int(athlete.id), (
            f"⚠️ I couldn't {verb} {what} in Intervals.icu after {MAX_ATTEMPTS} tries "
            f"({item.error}). It's saved here; press Retry now to try again."
        )


def unannounced_failures() -> list[str]:
    """Items that failed for good and whose athlete has not been told yet."""
    query = SyncQueue.select(SyncQueue.id).where(
        (SyncQueue.status == "FAILED")
        & (SyncQueue.attempts >= MAX_ATTEMPTS)
        & SyncQueue.notified_at.is_null()
    )
    return [str(i.id) for i in query]


async def sync_failure(item_id: str) -> tuple[int, Reply] | None:
    """The notice for an item that failed for good, once; None when none is due."""
    found = await db.call(_failure_text, item_id)
    if found is None:
        return None
    athlete_id, text = found
    if text == KEY_REJECTED:
        return athlete_id, Reply(text)
    buttons = await actions.offer(athlete_id, "retry_sync", {})
    return athlete_id, Reply(text, buttons=buttons[:1])


def _key_rejected(athlete_id: int) -> bool:
    """Mark the key refused; True when the athlete has not been told yet."""
    with db.transaction():
        athlete = Athlete.get_by_id(athlete_id)
        if athlete.key_notified_at is not None:
            return False
        now = utcnow()
        athlete.key_rejected_at = athlete.key_rejected_at or now
        athlete.key_notified_at = now
        athlete.save()
        return True


async def key_rejected(athlete_id: int) -> Reply | None:
    """The one message about a refused key."""
    return Reply(KEY_REJECTED) if await db.call(_key_rejected, athlete_id) else None


def untold(athlete_id: int, reply: Reply, item_id: str | None = None) -> None:
    """The notice reached no chat while a platform did not answer: unmark it, so a later pass gives it
    again (sync; call through db.call)."""
    with db.transaction():
        if item_id is not None:
            SyncQueue.update(notified_at=None).where(SyncQueue.id == item_id).execute()
        if reply.text == KEY_REJECTED:
            Athlete.update(key_notified_at=None).where(Athlete.id == athlete_id).execute()


def key_accepted(athlete_id: int) -> None:
    """The key works again: forget earlier refusals."""
    Athlete.update(key_rejected_at=None, key_notified_at=None).where(Athlete.id == athlete_id).execute()


def _daily(athlete_id: int, now: dt.datetime) -> bool:
    with db.transaction():
        athlete = Athlete.get_by_id(athlete_id)
        today = now.astimezone(zone(athlete.timezone)).date()
        workouts = sorted(
            PlannedWorkout.select().where(
                (PlannedWorkout.athlete == athlete.id)
                & (PlannedWorkout.date == today)
                & (PlannedWorkout.completed == False)  # noqa: E712
            ),
            key=in_day_order,
        )
        push = pushes.claim(athlete_id, "morning", today.isoformat(), now) if workouts else None
        if push is None:
            return False
        lines = ["Good morning! Today:"]
        for w in workouts:
            facts = [w.type] + ([f"{w.duration_minutes} min"] if w.duration_minutes else [])
            facts += [w.time_of_day] if w.time_of_day else []
            lines.append(f"- {w.title} ({', '.join(facts)})")
        lines.append("Reply here to change anything. /notify morning off stops these messages.")
        pushes.fill(push.id, "\n".join(lines))
        return True


async def daily(athlete_id: int, now: dt.datetime) -> bool:
    """Queue today's workouts as a push, once a day, if there are any; the caller (the hourly pass)
    calls it at the athlete's morning hour."""
    return await db.call(_daily, athlete_id, now)
