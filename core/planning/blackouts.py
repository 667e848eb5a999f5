"""Unavailable dates: ranges of days the athlete can not train (travel, illness, a race elsewhere).

Adding a range that touches others merges nothing: each keeps its reason.
Removing a range cuts it out of every range it overlaps, so "remove the 3rd"
from "1st-5th" leaves "1st-2nd" and "4th-5th".
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from core.errors import ValidationError
from core.feedback import Feedback
from core.fields import UnavailableDatesChange, parse
from core.planning import changes
from storage import db
from storage.models import UnavailableDates

logger = logging.getLogger(__name__)

MAX_DAYS = 366
SHOWN = 5


def as_dict(row: UnavailableDates) -> dict[str, Any]:
    """A range as tools and the context show it."""
    return {
        "start_date": row.start_date.isoformat(),
        "end_date": row.end_date.isoformat(),
        "reason": row.reason,
    }


def ranges(athlete_id: int, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """The ranges that touch ``first``..``last``, earliest first (sync; call through db.call)."""
    rows = (
        UnavailableDates.select()
        .where(
            (UnavailableDates.athlete == athlete_id)
            & (UnavailableDates.end_date >= first)
            & (UnavailableDates.start_date <= last)
        )
        .order_by(UnavailableDates.start_date)
    )
    return [as_dict(r) for r in rows]


def upcoming(athlete_id: int, today: dt.date) -> list[dict[str, Any]]:
    """Ranges that have not ended yet (sync)."""
    return ranges(athlete_id, today, dt.date.max)


def covering(blackouts: Sequence[dict[str, Any]], day: dt.date) -> dict[str, Any] | None:
    """The range that holds ``day``, if any."""
    iso = day.isoformat()
    return next((b for b in blackouts if b["start_date"] <= iso <= b["end_date"]), None)


def describe(blackout: dict[str, Any]) -> str:
    """A range in words: ``2026-12-02 to 2026-12-04 (travel)``."""
    when = blackout["start_date"]
    if blackout["end_date"] != when:
        when += f" to {blackout['end_date']}"
    return f"{when} ({blackout['reason']})" if blackout["reason"] else when


def _write(athlete_id: int, change: UnavailableDatesChange) -> list[dict[str, Any]]:
    first, last = change.start_date, change.end_date or change.start_date
    if last < first:
        raise ValidationError("The end date is before the start date.")
    if (last - first).days >= MAX_DAYS:
        raise ValidationError(f"Give at most {MAX_DAYS} days at a time.")
    with db.transaction():
        span = str(first) if first == last else f"{first} to {last}"
        changes.record(
            athlete_id,
            "unavailable",
            f"marked {span} unavailable" if change.action == "add" else f"made {span} available again",
            {"before": ranges(athlete_id, dt.date.min, dt.date.max)},
        )
        if change.action == "add":
            UnavailableDates.create(
                athlete=athlete_id, start_date=first, end_date=last, reason=change.reason or ""
            )
        else:
            overlapping = UnavailableDates.select().where(
                (UnavailableDates.athlete == athlete_id)
                & (UnavailableDates.end_date >= first)
                & (UnavailableDates.start_date <= last)
            )
            if not overlapping.exists():
                raise ValidationError(f"No unavailable days between {first} and {last} to remove.")
            for row in overlapping:
                before = (row.start_date, first - dt.timedelta(days=1))
                after = (last + dt.timedelta(days=1), row.end_date)
                for start, end in (before, after):
                    if start <= end:
                        UnavailableDates.create(
                            athlete=athlete_id, start_date=start, end_date=end, reason=row.reason
                        )
                row.delete_instance()
        return ranges(athlete_id, dt.date.min, dt.date.max)


def restore(athlete_id: int, before: list[dict[str, Any]]) -> None:
    """Put back exactly the ranges ``before`` (sync; call through db.call)."""
    with db.transaction():
        UnavailableDates.delete().where(UnavailableDates.athlete == athlete_id).execute()
        for b in before:
            UnavailableDates.create(
                athlete=athlete_id,
                start_date=dt.date.fromisoformat(b["start_date"]),
                end_date=dt.date.fromisoformat(b["end_date"]),
                reason=b["reason"],
            )


async def update_unavailable_dates(athlete_id: int, change: Any) -> Feedback:
    """Add or remove unavailable days; returns every range now set."""
    parsed = parse(UnavailableDatesChange, change)
    now = await db.call(_write, athlete_id, parsed)
    logger.info("unavailable dates of athlete %s: %s", athlete_id, parsed.action)
    last = parsed.end_date or parsed.start_date
    span = str(parsed.start_date) if last == parsed.start_date else f"{parsed.start_date} to {last}"
    message = f"Marked {span} as unavailable." if parsed.action == "add" else f"{span} is available again."
    return Feedback(True, message, data={"unavailable_dates": now})
