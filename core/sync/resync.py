"""The athlete's view of the sync queue: what waits, what failed, and "Retry now"."""

from __future__ import annotations

from core.sync import outbox as sync
from core.sync.intervals import IntervalsPool
from storage import db
from storage.models import PlannedWorkout, SyncQueue, utcnow


def _reopen(athlete_id: int) -> list[str]:
    """Give the athlete's open and failed items fresh attempts; returns their ids, oldest first."""
    with db.transaction():
        items = list(
            SyncQueue.select()
            .where((SyncQueue.athlete == athlete_id) & SyncQueue.status.in_(sync.OPEN_STATUSES))
            .order_by(SyncQueue.created_at)
        )
        for item in items:
            item.attempts, item.status, item.updated_at = 0, "PENDING", utcnow()
            item.save()
        PlannedWorkout.update(sync_status="PENDING").where(
            PlannedWorkout.id.in_([i.entity_id for i in items]) & (PlannedWorkout.sync_status == "FAILED")
        ).execute()
        return [str(i.id) for i in items]


async def retry_athlete(pool: IntervalsPool, athlete_id: int) -> list[str | None]:
    """Reset attempts and push everything open at once."""
    return [await sync.push(pool, item_id) for item_id in await db.call(_reopen, athlete_id)]


def open_counts(athlete_id: int) -> dict[str, int]:
    """How many of the athlete's changes wait to sync and how many failed for good."""
    query = SyncQueue.select().where(
        (SyncQueue.athlete == athlete_id) & SyncQueue.status.in_(sync.OPEN_STATUSES)
    )
    failed = sum(1 for i in query if i.attempts >= sync.MAX_ATTEMPTS)
    return {"pending": query.count() - failed, "failed": failed}
