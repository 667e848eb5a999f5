"""Sync of planned workouts to Intervals.icu through an outbox (the SyncQueue).

A write saves the workout and its queue item in one transaction, then ``push``
tries the item at once; a retryable failure leaves it for the retry job, so
nothing is lost if a process dies in between. An item is claimed before it is
worked on (row locks that skip locked rows on PostgreSQL, a claim column
everywhere), and a claim left by a crashed worker expires.

Items of one workout coalesce: a create or update sends the row as it is now,
so it also settles every older open create or update of that workout; a
delete cancels those still unsent, and a create then delete sends nothing.

Idempotency: we store the event id Intervals.icu returns and update or delete
by it. When an earlier attempt may have reached Intervals.icu (a timeout or a
lost response), the day's events are searched for our ``external_id`` first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import IntervalsAuthError, IntervalsError, RemoteNotFound, SyncUnavailable
from core.metrics import SYNC_ATTEMPTS, SYNC_SECONDS
from core.sync.events import event_date, external_id, to_event
from core.sync.intervals import IntervalsClient, IntervalsPool
from storage import db
from storage.models import Athlete, PlannedWorkout, SyncQueue, utcnow

logger = logging.getLogger(__name__)

ENTITY_WORKOUT = "planned_workout"
MAX_ATTEMPTS = 3
OPEN_STATUSES = ("PENDING", "FAILED")
UPSERTS = ("create", "update")
CLAIM_TTL = dt.timedelta(minutes=2)
BACKOFF_SECONDS = (10.0, 60.0)
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

# Set by a process that runs background jobs: retry an item in N seconds (after attempt K).
RetryScheduler = Callable[[str, float, int], Awaitable[None]]


@dataclass
class _Hooks:
    schedule_retry: RetryScheduler | None = None


hooks = _Hooks()


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


def _is_open() -> Any:
    """Open and with attempts left."""
    return SyncQueue.status.in_(OPEN_STATUSES) & (SyncQueue.attempts < MAX_ATTEMPTS)


def open_items(workout_id: str) -> Any:
    """Open queue items of a workout that still have attempts left."""
    return SyncQueue.select().where((SyncQueue.entity_id == workout_id) & _is_open())


def enqueue_delete(athlete_id: int, workout: PlannedWorkout) -> str | None:
    """Queue the remote delete of a workout being deleted (inside its transaction).

    Unsent creates and updates are cancelled. If nothing can exist remotely,
    nothing is queued at all: a create then a delete sends nothing.
    """
    now = utcnow()
    maybe_remote = workout.remote_event_id is not None
    for item in open_items(workout.id).where(SyncQueue.operation.in_(UPSERTS)):
        if item.uncertain or (item.claimed_by and item.claim_expires_at and item.claim_expires_at > now):
            maybe_remote = True  # it may have reached Intervals.icu, or is on its way
            continue
        item.status, item.completed_at, item.error, item.updated_at = (
            "COMPLETED",
            now,
            "superseded by delete",
            now,
        )
        item.save()
    if not maybe_remote:
        return None
    payload = {
        "remote_event_id": workout.remote_event_id,
        "external_id": external_id(workout.id),
        "date": workout.date.isoformat(),
    }
    return enqueue(athlete_id, workout.id, "delete", payload)


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
        "steps": w.steps,
        "completed": w.completed,
        "sync_status": (w.sync_status or "LOCAL").lower(),
    }


@dataclass(frozen=True)
class _Work:
    item_id: str
    operation: str
    payload: dict[str, Any]
    remote_athlete: str
    api_key: str
    workout: dict[str, Any] | None
    remote_event_id: int | None
    uncertain: bool
    covered: list[str] = field(default_factory=list)


def _claimable(query: Any, now: dt.datetime) -> Any:
    query = query.where(SyncQueue.claimed_by.is_null() | (SyncQueue.claim_expires_at < now))
    if db.is_postgres():
        query = query.for_update("FOR UPDATE SKIP LOCKED")
    return query


def _claim(item_id: str) -> _Work | None:
    """Claim an item (and, for upserts, the workout's other open upserts) for this worker."""
    works = _claim_many([item_id])
    return works[0] if works else None


def _claim_many(item_ids: list[str]) -> list[_Work]:
    """Claim several items in one transaction and a handful of queries; held ones are skipped.

    Open upserts of one workout become one work (the row is sent as it is now).
    """
    with db.transaction():
        now = utcnow()
        items = list(_claimable(SyncQueue.select().where(SyncQueue.id.in_(item_ids) & _is_open()), now))
        if not items:
            return []
        athletes = {
            a.id: a
            for a in Athlete.select().where(Athlete.id.in_({i.athlete_id for i in items}))
            if a.connected
        }
        items = [i for i in items if i.athlete_id in athletes]
        entity_ids = {i.entity_id for i in items if i.operation in UPSERTS}
        rows = (
            {r.id: r for r in PlannedWorkout.select().where(PlannedWorkout.id.in_(entity_ids))}
            if entity_ids
            else {}
        )
        siblings: dict[str, list[SyncQueue]] = {}
        if entity_ids:
            others = SyncQueue.select().where(
                SyncQueue.entity_id.in_(entity_ids)
                & SyncQueue.operation.in_(UPSERTS)
                & _is_open()
                & SyncQueue.id.not_in([i.id for i in items])
            )
            for other in _claimable(others, now):
                siblings.setdefault(other.entity_id, []).append(other)
        works: list[_Work] = []
        seen: set[str] = set()
        for item in sorted(items, key=lambda i: i.created_at):
            if item.operation in UPSERTS:
                if item.entity_id in seen:
                    continue  # folded into the workout's first item
                seen.add(item.entity_id)
                group = [i for i in items if i.entity_id == item.entity_id and i.operation in UPSERTS]
                group += siblings.get(item.entity_id, [])
            else:
                group = [item]
            row = rows.get(item.entity_id) if item.operation in UPSERTS else None
            athlete = athletes[item.athlete_id]
            works.append(
                _Work(
                    item_id=str(item.id),
                    operation=item.operation,
                    payload=json.loads(item.payload),
                    remote_athlete=athlete.intervals_athlete_id,
                    api_key=athlete.intervals_api_key,
                    workout=workout_dict(row) if row else None,
                    remote_event_id=row.remote_event_id if row else None,
                    uncertain=any(i.uncertain for i in group),
                    covered=[str(i.id) for i in group],
                )
            )
        claimed = [c for w in works for c in w.covered]
        SyncQueue.update(claimed_by=WORKER_ID, claim_expires_at=now + CLAIM_TTL).where(
            SyncQueue.id.in_(claimed)
        ).execute()
        return works


async def _find_ours(client: IntervalsClient, ext_id: str, dates: set[dt.date]) -> list[int]:
    events = await client.list_events(min(dates), max(dates))
    return [int(e["id"]) for e in events if e.get("external_id") == ext_id]


async def _delete(client: IntervalsClient, work: _Work) -> None:
    ids = [work.payload["remote_event_id"]] if work.payload.get("remote_event_id") else []
    if not ids:
        known = dt.date.fromisoformat(work.payload["date"])
        ids = await _find_ours(client, work.payload["external_id"], {known})
    for event_id in ids:
        await client.delete_event(int(event_id))


async def _upsert(client: IntervalsClient, work: _Work) -> int | None:
    """Make the remote event match the workout row; returns its event id."""
    if work.workout is None:
        return None  # deleted locally since; its delete item cleans up remotely
    body = to_event(work.workout)
    if work.remote_event_id is not None:
        try:
            await client.update_event(work.remote_event_id, body)
            return work.remote_event_id
        except RemoteNotFound:
            logger.info("event %s vanished remotely; re-creating", work.remote_event_id)
    if work.uncertain:
        dates = {dt.date.fromisoformat(work.payload["date"]), event_date(body)}
        found = await _find_ours(client, body["external_id"], dates)
        if found:
            await client.update_event(found[0], body)
            return found[0]
    created = await client.create_event(body)
    return int(created["id"])


def _record_success(work: _Work, remote_id: int | None) -> None:
    _record_many([(work, remote_id)])


def _record_many(results: list[tuple[_Work, int | None]]) -> None:
    """Settle many successful upserts in one transaction and a few statements."""
    with db.transaction():
        now = utcnow()
        covered = [c for work, _ in results for c in work.covered]
        SyncQueue.update(
            status="COMPLETED",
            completed_at=now,
            error=None,
            attempts=SyncQueue.attempts + 1,
            last_attempt=now,
            updated_at=now,
            claimed_by=None,
            claim_expires_at=None,
        ).where(SyncQueue.id.in_(covered)).execute()
        ids = [work.workout["id"] for work, _ in results if work.workout]
        existing = {r.id for r in PlannedWorkout.select(PlannedWorkout.id).where(PlannedWorkout.id.in_(ids))}
        still_open = {
            i.entity_id
            for i in SyncQueue.select(SyncQueue.entity_id).where(SyncQueue.entity_id.in_(ids) & _is_open())
        }
        for work, remote_id in results:
            if not work.workout:
                continue
            if work.workout["id"] not in existing:
                _settle_orphan(work, remote_id)
                continue
            fields: dict[str, Any] = {"remote_event_id": remote_id}
            if work.workout["id"] not in still_open:
                fields.update(
                    sync_status="SYNCED", last_synced_at=now, sync_error=None, modified_locally=False
                )
            PlannedWorkout.update(**fields).where(PlannedWorkout.id == work.workout["id"]).execute()


def _settle_orphan(work: _Work, remote_id: int | None) -> None:
    """The workout was deleted while we were creating it: queue the remote delete, no ghost stays."""
    if remote_id is None or work.workout is None:
        return
    enqueue(
        int(SyncQueue.get_by_id(work.item_id).athlete_id),
        work.workout["id"],
        "delete",
        {
            "remote_event_id": remote_id,
            "external_id": external_id(work.workout["id"]),
            "date": work.workout["date"],
        },
    )


def _record_failure(work: _Work, error: IntervalsError) -> tuple[str, int]:
    """Count the failed attempt; returns (workout sync status, attempts)."""
    with db.transaction():
        item = SyncQueue.get_by_id(work.item_id)
        now = utcnow()
        item.attempts = item.attempts + 1 if error.retryable else MAX_ATTEMPTS
        item.status, item.error = "FAILED", error.user_message
        item.uncertain = item.uncertain or bool(getattr(error, "uncertain", False))
        item.last_attempt = item.updated_at = now
        item.claimed_by = item.claim_expires_at = None
        item.save()
        others = [i for i in work.covered if i != work.item_id]
        SyncQueue.update(claimed_by=None, claim_expires_at=None).where(SyncQueue.id.in_(others)).execute()
        status = "FAILED" if item.attempts >= MAX_ATTEMPTS else "PENDING"
        PlannedWorkout.update(sync_status=status, sync_error=error.user_message).where(
            PlannedWorkout.id == item.entity_id
        ).execute()
        if isinstance(error, IntervalsAuthError):
            Athlete.update(key_rejected_at=now).where(
                (Athlete.id == item.athlete_id) & Athlete.key_rejected_at.is_null()
            ).execute()
        return status.lower(), item.attempts


def _backoff(attempts: int, error: IntervalsError) -> float:
    delay = BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1]
    if isinstance(error, SyncUnavailable) and error.retry_after:
        delay = max(delay, error.retry_after)
    return delay


async def push(pool: IntervalsPool, item_id: str) -> str | None:
    """Try one queue item now; returns 'synced', 'pending' or 'failed' (None: nothing to do)."""
    work = await db.call(_claim, item_id)
    if work is None:
        return None
    return await _push_claimed(pool, work)


async def _push_claimed(pool: IntervalsPool, work: _Work) -> str:
    """Do the remote side of a work this worker holds, and record how it went."""
    item_id = work.item_id
    client = pool.client(work.remote_athlete, work.api_key)
    try:
        with SYNC_SECONDS.time():
            if work.operation == "delete":
                await _delete(client, work)
                remote_id = None
            else:
                remote_id = await _upsert(client, work)
    except IntervalsError as exc:
        SYNC_ATTEMPTS.labels("retryable" if exc.retryable else "permanent").inc()
        outcome, attempts = await db.call(_record_failure, work, exc)
        logger.warning(
            "sync %s %s failed (%s, attempt %d, %s): %s",
            work.operation,
            item_id,
            type(exc).__name__,
            attempts,
            outcome,
            exc.user_message,
        )
        if outcome == "pending" and hooks.schedule_retry is not None:
            await hooks.schedule_retry(item_id, _backoff(attempts, exc), attempts)
        return outcome
    SYNC_ATTEMPTS.labels("synced").inc()
    await db.call(_record_success, work, remote_id)
    logger.info("sync %s %s done (covers %d item(s))", work.operation, item_id, len(work.covered))
    return "synced"


def overall(statuses: list[str | None]) -> str | None:
    """One status for several changes: the worst of them."""
    for status in ("failed", "pending", "synced"):
        if status in statuses:
            return status
    return None


async def _push_bulk(
    pool: IntervalsPool, bulk: list[_Work], send: Callable[[IntervalsClient], Awaitable[dict[str, int]]]
) -> list[str | None]:
    """One request for many works of one athlete; ``send`` returns new event ids by external id."""
    client = pool.client(bulk[0].remote_athlete, bulk[0].api_key)
    try:
        with SYNC_SECONDS.time():
            ids = await send(client)
    except IntervalsError as exc:
        SYNC_ATTEMPTS.labels("retryable" if exc.retryable else "permanent").inc(len(bulk))
        outcomes: list[str | None] = []
        for w in bulk:
            outcome, attempts = await db.call(_record_failure, w, exc)
            outcomes.append(outcome)
            if outcome == "pending" and hooks.schedule_retry is not None:
                await hooks.schedule_retry(w.item_id, _backoff(attempts, exc), attempts)
        logger.warning("bulk %s of %d items failed: %s", bulk[0].operation, len(bulk), exc.user_message)
        return outcomes
    SYNC_ATTEMPTS.labels("synced").inc(len(bulk))
    await db.call(
        _record_many, [(w, ids.get(external_id(w.workout["id"])) if w.workout else None) for w in bulk]
    )
    logger.info("bulk %s of %d items done", bulk[0].operation, len(bulk))
    return ["synced"] * len(bulk)


async def _push_works(pool: IntervalsPool, works: list[_Work]) -> list[str | None]:
    """Push claimed works of one athlete: plain creates in one bulk call, deletes by known id in
    another, the rest singly."""
    creates = [
        w
        for w in works
        if w.operation != "delete" and w.workout and w.remote_event_id is None and not w.uncertain
    ]
    deletes = [w for w in works if w.operation == "delete" and w.payload.get("remote_event_id")]
    outcomes: list[str | None] = []
    for w in works:
        if w not in creates and w not in deletes:
            outcomes.append(await _push_claimed(pool, w))

    async def create(client: IntervalsClient) -> dict[str, int]:
        events = await client.bulk_upsert_events([to_event(w.workout) for w in creates if w.workout])
        return {str(e.get("uid")): int(e["id"]) for e in events}

    async def delete(client: IntervalsClient) -> dict[str, int]:
        await client.bulk_delete_events([int(w.payload["remote_event_id"]) for w in deletes])
        return {}

    if deletes:
        outcomes += await _push_bulk(pool, deletes, delete)
    if creates:
        outcomes += await _push_bulk(pool, creates, create)
    return outcomes


async def push_batch(pool: IntervalsPool, item_ids: list[str]) -> list[str | None]:
    """Push several items: per athlete, new workouts in one bulk call, everything else singly."""
    works = await db.call(_claim_many, item_ids)
    by_athlete: dict[str, list[_Work]] = {}
    for w in works:
        by_athlete.setdefault(w.remote_athlete, []).append(w)
    outcomes: list[str | None] = []
    for group in by_athlete.values():
        outcomes.extend(await _push_works(pool, group))
    return outcomes


async def drain(pool: IntervalsPool, *, batch: int = 50, concurrency: int = 4) -> dict[str, int]:
    """Work through everything due, ``batch`` items at a time, several batches at once.

    Throughput comes from bulk calls (one request for many new workouts) and from
    overlapping batches; the pool's pacer keeps the request rate under the limit.
    """
    counts: dict[str, int] = {}
    lock = asyncio.Lock()
    started = utcnow()

    async def worker() -> None:
        while True:
            async with lock:  # two loops must not take the same items
                ids = await db.call(due, batch, started)
                works = await db.call(_claim_many, ids) if ids else []
            if not works:
                return
            by_athlete: dict[str, list[_Work]] = {}
            for w in works:
                by_athlete.setdefault(w.remote_athlete, []).append(w)
            for group in by_athlete.values():
                for outcome in await _push_works(pool, group):
                    counts[outcome or "skipped"] = counts.get(outcome or "skipped", 0) + 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return counts


def queue_summary() -> tuple[int, dt.datetime | None]:
    """How many changes wait for Intervals.icu, and since when the oldest has (naive UTC)."""
    waiting = SyncQueue.select(SyncQueue.created_at).where(_is_open())
    oldest = waiting.order_by(SyncQueue.created_at).first()
    return waiting.count(), oldest.created_at if oldest else None


def last_error(item_id: str) -> str:
    """The last error stored on a queue item."""
    return str(SyncQueue.get_by_id(item_id).error or "unknown error")


def due(limit: int, before: dt.datetime | None = None) -> list[str]:
    """Open items with attempts left and no live claim, oldest first.

    ``before``: skip items attempted since then, so one pass tries an item once.
    """
    now = utcnow()
    query = SyncQueue.select(SyncQueue.id).where(
        _is_open() & (SyncQueue.claimed_by.is_null() | (SyncQueue.claim_expires_at < now))
    )
    if before is not None:
        query = query.where(SyncQueue.last_attempt.is_null() | (SyncQueue.last_attempt < before))
    return [str(i.id) for i in query.order_by(SyncQueue.created_at).limit(limit)]
