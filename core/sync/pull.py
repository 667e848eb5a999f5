"""Pull from Intervals.icu: activities, wellness, and the planning window's events.

Our events (``external_id`` "coach-<id>") edited in Intervals.icu are taken in,
unless the same workout also changed here and is still waiting to sync: then
the local change wins and the athlete is told. Our events deleted there are
deleted here (no ghosts). The athlete's own events are mirrored read-only.
Planned workouts are marked completed by their activity (``core/matching.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from core.clock import today_in
from core.sync import activities, matching, workout_text
from core.sync import outbox as sync
from core.sync.events import EXTERNAL_PREFIX, TIME_OF_DAY_START, TYPE_TO_REMOTE, event_date
from core.sync.intervals import IntervalsPool
from storage import db
from storage.models import Athlete, PlannedWorkout, utcnow

logger = logging.getLogger(__name__)

WINDOW_DAYS = 14
_FROM_REMOTE = {remote: ours for ours, remote in TYPE_TO_REMOTE.items()} | {
    "VirtualRide": "Ride",
    "VirtualRun": "Run",
}
_HOUR_TO_SLOT = {int(start[:2]): slot for slot, start in TIME_OF_DAY_START.items()}


@dataclass
class PullResult:
    """What a pull changed here."""

    activities: int = 0
    updated: int = 0
    deleted: int = 0
    mirrored: int = 0
    completed: int = 0
    kept_local: list[str] = field(default_factory=list)


def _slot(start: str) -> str | None:
    hour = int(start[11:13]) if len(start) >= 13 else 0
    if hour in _HOUR_TO_SLOT:
        return _HOUR_TO_SLOT[hour]
    if hour == 0:
        return None
    return "morning" if hour < 12 else "afternoon" if hour < 17 else "evening"


def from_event(event: dict[str, Any]) -> dict[str, Any]:
    """Workout fields as an Intervals.icu event describes them."""
    fields: dict[str, Any] = {
        "date": event_date(event),
        "time_of_day": _slot(str(event.get("start_date_local", ""))),
        "title": str(event.get("name") or "Workout")[:200],
        "description": str(event.get("description") or "")[:4000],
    }
    if event.get("category") == "NOTE":
        fields["type"] = "Rest"
    elif event.get("type"):
        fields["type"] = _FROM_REMOTE.get(str(event["type"]), str(event["type"])[:32])
    if event.get("moving_time"):
        fields["duration_minutes"] = max(1, round(int(event["moving_time"]) / 60))
    if event.get("icu_training_load") is not None:
        fields["tss"] = int(event["icu_training_load"])
    if "indoor" in event:
        fields["location"] = "indoor" if event["indoor"] else "outdoor"
    return fields


def _changed(row: PlannedWorkout, fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if getattr(row, k) != v}


def _apply_events(athlete_id: int, events: list[dict[str, Any]], first: dt.date, last: dt.date) -> PullResult:
    result = PullResult()
    ours = {
        str(e["external_id"])[len(EXTERNAL_PREFIX) :]: e
        for e in events
        if str(e.get("external_id") or "").startswith(EXTERNAL_PREFIX)
    }
    theirs = {
        int(e["id"]): e for e in events if not str(e.get("external_id") or "").startswith(EXTERNAL_PREFIX)
    }
    with db.transaction():
        rows = list(
            PlannedWorkout.select().where(
                (PlannedWorkout.athlete == athlete_id)
                & (PlannedWorkout.date >= first)
                & (PlannedWorkout.date <= last)
            )
        )
        for row in rows:
            if row.origin == "coach":
                _reconcile_ours(row, ours.pop(row.id, None), result)
            elif row.remote_event_id not in theirs:
                row.delete_instance()
                result.deleted += 1
        # Ours that moved into the window from a date outside it.
        for workout_id, event in ours.items():
            row = PlannedWorkout.get_or_none(
                (PlannedWorkout.id == workout_id) & (PlannedWorkout.athlete == athlete_id)
            )
            if row is not None:
                _reconcile_ours(row, event, result)
        for event_id, event in theirs.items():
            if event.get("category") not in ("WORKOUT", "NOTE", "RACE_A", "RACE_B", "RACE_C"):
                continue
            fields = {
                **from_event(event),
                "remote_event_id": event_id,
                "origin": "intervals",
                "sync_status": "SYNCED",
            }
            fields.setdefault("type", "Ride")
            existing = PlannedWorkout.get_or_none(
                (PlannedWorkout.athlete == athlete_id)
                & (PlannedWorkout.remote_event_id == event_id)
                & (PlannedWorkout.origin == "intervals")
            )
            if existing is None:
                PlannedWorkout.create(athlete=athlete_id, **fields)
                result.mirrored += 1
            elif _changed(existing, fields):
                PlannedWorkout.update(**fields, updated_at=utcnow()).where(
                    PlannedWorkout.id == existing.id
                ).execute()
    return result


def _reconcile_ours(row: PlannedWorkout, event: dict[str, Any] | None, result: PullResult) -> None:
    pending = sync.open_items(row.id).exists()
    if event is None:
        if row.remote_event_id is not None and not pending and row.sync_status == "SYNCED":
            row.delete_instance()  # deleted in Intervals.icu: no ghost here
            result.deleted += 1
        return
    fields = from_event(event)
    if row.steps:
        if fields["description"] == workout_text.description(row.description, row.steps, row.type):
            fields["description"] = row.description  # our own workout text, as we sent it
        else:
            fields["steps"] = None  # rewritten in Intervals.icu: their text is kept as it is
    changes = _changed(row, fields)
    if not changes:
        return
    if pending or row.modified_locally:
        result.kept_local.append(f"{row.title!r} on {row.date}")
        return
    for key, value in changes.items():
        setattr(row, key, value)
    row.remote_event_id, row.last_synced_at, row.updated_at = int(event["id"]), utcnow(), utcnow()
    row.save()
    result.updated += 1


async def pull(pool: IntervalsPool, athlete_id: int) -> PullResult:
    """Refresh one connected athlete from Intervals.icu; IntervalsError propagates."""
    athlete = await db.call(Athlete.get_by_id, athlete_id)
    today = today_in(athlete.timezone)
    first, last = today - dt.timedelta(days=1), today + dt.timedelta(days=WINDOW_DAYS)
    fetched = await activities.refresh(pool, athlete_id, today - dt.timedelta(days=WINDOW_DAYS), today)
    events = await pool.client(athlete.intervals_athlete_id, athlete.intervals_api_key).list_events(
        first, last
    )
    result = await db.call(_apply_events, athlete_id, events, first, last)
    result.activities = fetched.activities
    matched = await db.call(
        matching.mark_completed, athlete_id, today - dt.timedelta(days=WINDOW_DAYS), today
    )
    result.completed = len(matched)
    logger.info("pull athlete=%s %s", athlete_id, result)
    return result
