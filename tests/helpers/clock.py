"""The tests' view of "now": the real moment, moved ahead by COACH_TEST_CLOCK_SHIFT_DAYS when set.

tests/test_any_date.py runs the date-dependent tests again a year ahead, so a test that builds
"tomorrow" from the system's date while the product reads its own clock fails here, not next year.
Module-level constants read this too, before any fixture has set the product's clock.
"""

from __future__ import annotations

import datetime as dt
import os

SHIFT = dt.timedelta(days=int(os.environ.get("COACH_TEST_CLOCK_SHIFT_DAYS", "0")))


def now() -> dt.datetime:
    """Aware UTC now, shifted."""
    return dt.datetime.now(dt.UTC) + SHIFT


def utcnow() -> dt.datetime:
    """Naive UTC now, shifted: the form the database stores."""
    return now().replace(tzinfo=None)


def today() -> dt.date:
    """Today's date in UTC, shifted."""
    return now().date()
