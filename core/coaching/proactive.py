"""What the coach says on its own after a pull and on the hour: the builders run in turn.

The worker's pull job and ``/sync`` share ``after_pull``, so both find the same
things and, through ``core/pushes.py``, never say one twice. Each builder
leaves its pushes queued; delivery is the caller's.
"""

from __future__ import annotations

import datetime as dt

from core.coaching import after_workout, notices, push_settings, recovery, weekly_review
from core.model.llm import Model
from storage import db


async def after_pull(model: Model | None, athlete_id: int, now: dt.datetime) -> int:
    """Queue the pushes a fresh pull calls for; returns how many were queued."""
    notes = await after_workout.queue_notes(model, athlete_id, now)
    return notes + await recovery.check(athlete_id, now)


async def scheduled(athlete_id: int, now: dt.datetime) -> int:
    """The hourly pass: at the morning hour a recovery alert if due, then today's workouts; on
    Sunday at 18:00 the weekly review. Returns how many were queued."""
    queued = await weekly_review.queue(athlete_id, now)
    if await db.call(push_settings.is_morning, athlete_id, now):
        queued += await recovery.check(athlete_id, now) + await notices.daily(athlete_id, now)
    return queued
