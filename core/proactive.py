"""What the coach says on its own after a pull: the builders run in turn and leave their pushes queued.

The worker's pull job and ``/sync`` share this, so both find the same things
and, through ``core/pushes.py``, never say one twice. Delivery is the caller's.
"""

from __future__ import annotations

import datetime as dt

from core import after_workout
from core.llm import Model


async def after_pull(model: Model | None, athlete_id: int, now: dt.datetime) -> int:
    """Queue the pushes a fresh pull calls for; returns how many were queued."""
    return await after_workout.queue_notes(model, athlete_id, now)
