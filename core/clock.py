"""Dates in the athlete's own time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ValidationError

DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or ValidationError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"Unknown time zone {name!r}; use an IANA name like Europe/Berlin.") from None


def today_in(tz_name: str, now: dt.datetime | None = None) -> dt.date:
    """Today's date where the athlete is."""
    moment = now or dt.datetime.now(dt.UTC)
    return moment.astimezone(zone(tz_name)).date()


def day_of_week(day: dt.date) -> int:
    """0 = Sunday ... 6 = Saturday, as the design counts."""
    return day.isoweekday() % 7
