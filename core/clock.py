"""Dates in the athlete's own time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ValidationError
from storage.clock import hooks, now

__all__ = ["DAY_NAMES", "day_of_week", "hooks", "naive_utc", "now", "today_in", "zone"]

DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def naive_utc(moment: dt.datetime) -> dt.datetime:
    """An aware moment as the naive UTC the database stores."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or ValidationError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"Unknown time zone {name!r}; use an IANA name like Europe/Berlin.") from None


def today_in(tz_name: str, moment: dt.datetime | None = None) -> dt.date:
    """Today's date where the athlete is (now, or at ``moment``)."""
    return (moment or now()).astimezone(zone(tz_name)).date()


def day_of_week(day: dt.date) -> int:
    """0 = Sunday ... 6 = Saturday, as the design counts."""
    return day.isoweekday() % 7
