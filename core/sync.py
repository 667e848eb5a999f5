"""Sync of planned workouts to Intervals.icu through an outbox (the SyncQueue).

A write saves the workout and its queue item in one transaction, then ``push``
tries the item at once. A retryable failure leaves the item for the retry job;
nothing is lost if the process dies in between. Bodies are built from the
workout row as it is when sent, so a retry always sends the latest state.

Idempotency: we store the event id Intervals.icu returns and update or delete by
it. When an earlier attempt's outcome is unknown (the response was lost), the
day's events are searched for our ``external_id`` before anything is created.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from core.errors import IntervalsError, RemoteNotFound
from core.events import event_date, external_id, to_event
from core.intervals import IntervalsClient, IntervalsPool
from storage import db
from storage.models import Athlete, PlannedWorkout, SyncQueue, utcnow

logger = logging.getLogger(__name__)

ENTITY_WORKOUT = "planned_workout"
MAX_ATTEMPTS = 3
OPEN_STATUSES = ("PENDING", "FAILED")


def enqueue(athlete_id: int, workout_id: str, operation: str, payload: dict[str, Any]) -> str:
    """Add a queue item (call inside the write's transaction); returns its id."""
    item = SyncQueue.create(
        id=str(uuid.uuid4()),
        athlete=athlete_id,
        entity_type=ENTITY_WORKOUT,
        entity_id=workout_id,
        operation=operation,
        payload=json.dumps(payload, default=str),
    )
    return str(item.id)


def delete_payload(workout: PlannedWorkout) -> dict[str, Any]:
    """What a delete needs once the row is gone: where the event is and how to recognise it."""
    return {
        "remote_event_id": workout.remote_event_id,
        "external_id": external_id(workout.id),
        "date": workout.date.isoformat(),
    }


def workout_dict(w: PlannedWorkout) -> dict[str, Any]:
    """The design's workout shape (plus time of day), as tools and events use it."""
    return {
        "id": w.id,
        "date": w.date.isoformat() if isinstance(w.date, dt.date) else str(w.date),
        "time_of_day": w.time_of_day,
        "title": w.title,
        "description": w.description,
        "type": w.type,
        "duration_minutes": w.duration_minutes,
        "tss": w.tss,
        "intensity": w.intensity,
        "location": w.location,
        "completed": w.completed,
        "sync_status": (w.sync_status or "LOCAL").lower(),
    }


@dataclass(frozen=True)
class _Work:
    item_id: str
    operation: str
    attempts: int
    payload: dict[str, Any]
    remote_athlete: str
    api_key: str
    workout: dict[str, Any] | None
    remote_event_id: int | None


def _load(item_id: str) -> _Work | None:
    item = SyncQueue.get_or_none(SyncQueue.id == item_id)
    if item is None or item.status not in OPEN_STATUSES or item.attempts >= MAX_ATTEMPTS:
        return None
    athlete = Athlete.get_by_id(item.athlete_id)
    if not athlete.connected:
        return None
    row = PlannedWorkout.get_or_none(
        (PlannedWorkout.id == item.entity_id) & (PlannedWorkout.athlete == athlete.id)
    )
    return _Work(
        item_id=item.id,
        operation=item.operation,
        attempts=item.attempts,
        payload=json.loads(item.payload),
        remote_athlete=athlete.intervals_athlete_id,
        api_key=athlete.intervals_api_key,
        workout=workout_dict(row) if row else None,
        remote_event_id=row.remote_event_id if row else None,
    )


async def _find_ours(client: IntervalsClient, ext_id: str, dates: set[dt.date]) -> list[int]:
    events = await client.list_events(min(dates), max(dates))
    return [int(e["id"]) for e in events if e.get("external_id") == ext_id]


async def _perform(client: IntervalsClient, work: _Work) -> int | None:
    """Do the remote side of one item; returns the event id it now lives under."""
    known_date = dt.date.fromisoformat(work.payload["date"])
    if work.operation == "delete":
        ids = [work.payload["remote_event_id"]] if work.payload.get("remote_event_id") else []
        if not ids:
            ids = await _find_ours(client, work.payload["external_id"], {known_date})
        for event_id in ids:
            await client.delete_event(int(event_id))
        return None
    if work.workout is None:
        return None  # deleted locally since; its delete item cleans up remotely
    body = to_event(work.workout)
    if work.remote_event_id is not None:
        try:
            await client.update_event(work.remote_event_id, body)
            return work.remote_event_id
        except RemoteNotFound:
            logger.info("event %s vanished remotely; re-creating", work.remote_event_id)
    if work.attempts > 0 or work.operation == "update":
        dates = {known_date, event_date(body)}
        found = await _find_ours(client, body["external_id"], dates)
        if found:
            await client.update_event(found[0], body)
            return found[0]
    created = await client.create_event(body)
    return int(created["id"])


def _record_success(item_id: str, remote_id: int | None) -> None:
    with db.transaction():
        item = SyncQueue.get_by_id(item_id)
        now = utcnow()
        item.status, item.completed_at, item.error = "COMPLETED", now, None
        item.attempts, item.last_attempt, item.updated_at = item.attempts + 1, now, now
        item.save()
        row = PlannedWorkout.get_or_none(PlannedWorkout.id == item.entity_id)
        if row is None or item.operation == "delete":
            return
        row.remote_event_id = remote_id
        newer = SyncQueue.select().where(
            (SyncQueue.entity_id == row.id)
            & (SyncQueue.status.in_(OPEN_STATUSES))
            & (SyncQueue.attempts < MAX_ATTEMPTS)
            & (SyncQueue.id != item_id)
        )
        if not newer.exists():
            row.sync_status, row.last_synced_at, row.sync_error = "SYNCED", now, None
            row.modified_locally = False
        row.save()


def _record_failure(item_id: str, error: IntervalsError) -> str:
    with db.transaction():
        item = SyncQueue.get_by_id(item_id)
        now = utcnow()
        item.attempts = item.attempts + 1 if error.retryable else MAX_ATTEMPTS
        item.status, item.error = "FAILED", error.user_message
        item.last_attempt = item.updated_at = now
        item.save()
        status = "FAILED" if item.attempts >= MAX_ATTEMPTS else "PENDING"
        PlannedWorkout.update(sync_status=status, sync_error=error.user_message).where(
            PlannedWorkout.id == item.entity_id
        ).execute()
        return status.lower()


async def push(pool: IntervalsPool, item_id: str) -> str | None:
    """Try one queue item now; returns 'synced', 'pending' or 'failed' (None: nothing to do)."""
    work = await db.call(_load, item_id)
    if work is None:
        return None
    client = pool.client(work.remote_athlete, work.api_key)
    try:
        remote_id = await _perform(client, work)
    except IntervalsError as exc:
        outcome = await db.call(_record_failure, item_id, exc)
        logger.warning(
            "sync %s %s failed (%s, %s): %s",
            work.operation,
            item_id,
            type(exc).__name__,
            outcome,
            exc.user_message,
        )
        return outcome
    await db.call(_record_success, item_id, remote_id)
    logger.info("sync %s %s done", work.operation, item_id)
    return "synced"


def overall(statuses: list[str | None]) -> str | None:
    """One status for several changes: the worst of them."""
    for status in ("failed", "pending", "synced"):
        if status in statuses:
            return status
    return None


async def _push_upserts(pool: IntervalsPool, works: list[_Work]) -> list[str]:
    """Create or update many workouts of one athlete in one bulk call (idempotent on ``uid``)."""
    sendable = [w for w in works if w.workout is not None]
    outcomes: list[str] = []
    for w in works:
        if w.workout is None:
            await db.call(_record_success, w.item_id, None)
            outcomes.append("synced")
    if not sendable:
        return outcomes
    client = pool.client(sendable[0].remote_athlete, sendable[0].api_key)
    try:
        events = await client.bulk_upsert_events([to_event(w.workout) for w in sendable if w.workout])
    except IntervalsError as exc:
        for w in sendable:
            outcomes.append(await db.call(_record_failure, w.item_id, exc))
        logger.warning("bulk sync of %d items failed: %s", len(sendable), exc.user_message)
        return outcomes
    ids = {e.get("uid"): int(e["id"]) for e in events}
    for w in sendable:
        assert w.workout is not None
        await db.call(_record_success, w.item_id, ids.get(external_id(w.workout["id"])))
        outcomes.append("synced")
    logger.info("bulk sync of %d items done", len(sendable))
    return outcomes


async def push_batch(pool: IntervalsPool, item_ids: list[str]) -> list[str | None]:
    """Push several items: deletes one by one, creates and updates batched per athlete."""
    works = [w for w in [await db.call(_load, i) for i in item_ids] if w is not None]
    outcomes: list[str | None] = []
    by_athlete: dict[str, list[_Work]] = {}
    for w in works:
        if w.operation == "delete":
            outcomes.append(await push(pool, w.item_id))
        else:
            by_athlete.setdefault(w.remote_athlete, []).append(w)
    for group in by_athlete.values():
        outcomes.extend(await _push_upserts(pool, group))
    return outcomes


def last_error(item_id: str) -> str:
    """The last error stored on a queue item."""
    return str(SyncQueue.get_by_id(item_id).error or "unknown error")


def _due(limit: int) -> list[str]:
    query = (
        SyncQueue.select(SyncQueue.id)
        .where(SyncQueue.status.in_(OPEN_STATUSES) & (SyncQueue.attempts < MAX_ATTEMPTS))
        .order_by(SyncQueue.created_at)
        .limit(limit)
    )
    return [str(i.id) for i in query]


async def retry_due(pool: IntervalsPool, limit: int = 50) -> dict[str, int]:
    """The design's retry pass: oldest open items with attempts left, ``limit`` at a time."""
    counts: dict[str, int] = {}
    for item_id in await db.call(_due, limit):
        outcome = await push(pool, item_id) or "skipped"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _reopen(athlete_id: int) -> list[str]:
    """Give the athlete's failed and pending items fresh attempts; returns their ids."""
    with db.transaction():
        items = list(
            SyncQueue.select().where((SyncQueue.athlete == athlete_id) & SyncQueue.status.in_(OPEN_STATUSES))
        )
        for item in items:
            item.attempts, item.status, item.updated_at = 0, "PENDING", utcnow()
            item.save()
            PlannedWorkout.update(sync_status="PENDING").where(PlannedWorkout.id == item.entity_id).execute()
        return [str(i.id) for i in sorted(items, key=lambda i: i.created_at)]


async def retry_athlete(pool: IntervalsPool, athlete_id: int) -> list[str | None]:
    """The athlete's "Retry now": reset attempts and push everything open at once."""
    return [await push(pool, item_id) for item_id in await db.call(_reopen, athlete_id)]


def open_counts(athlete_id: int) -> dict[str, int]:
    """How many of the athlete's changes wait to sync and how many failed for good."""
    query = SyncQueue.select().where((SyncQueue.athlete == athlete_id) & SyncQueue.status.in_(OPEN_STATUSES))
    failed = sum(1 for i in query if i.attempts >= MAX_ATTEMPTS)
    return {"pending": query.count() - failed, "failed": failed}
