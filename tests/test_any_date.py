"""The suite passes on any date: the date-dependent tests again, with the clock a year ahead.

The product reads one clock (``storage.clock``); the tests build their dates from
``tests.helpers.clock``. Both move with COACH_TEST_CLOCK_SHIFT_DAYS, so a check that reads
the system's date instead, or a test that hard-codes a date the product compares with "now",
fails here today rather than on a later day in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
# Every module whose tests compare a date or a moment with "now" (expiries, schedules, windows, plans).
DATED = (
    "test_access.py",
    "test_activities.py",
    "test_after_workout.py",
    "test_blackouts.py",
    "test_budgets.py",
    "test_context.py",
    "test_conversation.py",
    "test_history_tools.py",
    "test_jobs.py",
    "test_previews.py",
    "test_pushes.py",
    "test_recovery.py",
    "test_steps.py",
    "test_undo.py",
    "test_weekly_review.py",
    "test_workouts.py",
)
SYSTEM_CLOCK = ("datetime.now(", "date.today(", "time.time(")


@pytest.mark.skipif(os.environ.get("COACH_TEST_CLOCK_SHIFT_DAYS") is not None, reason="already shifted")
def test_the_dated_tests_pass_a_year_from_now() -> None:
    # SQLite only: the clock is the same for both backends, and the plain run covers PostgreSQL's SQL.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not postgres"]
        + [str(ROOT / "tests" / name) for name in DATED],
        env={**os.environ, "COACH_TEST_CLOCK_SHIFT_DAYS": "366"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-6000:]
    assert "Logging error" not in done.stdout + done.stderr


def test_only_the_one_clock_reads_the_system_clock() -> None:
    """Product code asks ``storage.clock`` for the date; a direct read would escape every test's clock."""
    readers = []
    for part in ("bot", "core", "jobs", "storage"):
        for path in (ROOT / part).rglob("*.py"):
            if path == ROOT / "storage" / "clock.py":
                continue
            text = path.read_text()
            readers += [f"{path.relative_to(ROOT)}: {call}" for call in SYSTEM_CLOCK if call in text]
    # Retry-After as an HTTP date is a wait against the server's wall clock, not a date we reason about.
    assert readers == ["core/sync/intervals.py: datetime.now("], readers
