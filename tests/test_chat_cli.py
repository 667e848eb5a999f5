"""``coach chat`` as a real process, replaying a piped conversation against the fake servers."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from storage.crypto import Cipher
from storage.db import database, open_database
from storage.models import PlannedWorkout, WeeklyTrainingPlan
from tests.conftest import ENCRYPTION_KEY
from tests.fakes.gemini import FakeGemini, call, json_reply, text
from tests.fakes.intervals import FakeIntervals
from tests.helpers.clock import today
from tests.helpers.markdown import MODEL_MARKDOWN, WORDS, markup_left

TOMORROW = today() + dt.timedelta(days=1)


def test_piped_session_replays_end_to_end(
    tmp_path: Path, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    fake_intervals.add_athlete("i321", "key-terminal-12345", {"name": "Tess", "timezone": "UTC"})
    fake_gemini.script(
        call(
            "create_planned_workout",
            {"date": TOMORROW.isoformat(), "title": "Easy run", "type": "Run", "duration_minutes": 40},
        ),
        text(f"Added an **easy run** for *tomorrow*.\n\n{MODEL_MARKDOWN}"),
        call("generate_training_plan", {"days": 3}),
        text("Shall I generate a 3-day plan?"),
        json_reply(
            {
                "summary": "Short block.",
                "days": [
                    {
                        "date": TOMORROW.isoformat(),
                        "workouts": [
                            {
                                "title": "Z2 ride",
                                "type": "Ride",
                                "duration_minutes": 90,
                                "tss": 60,
                                "intensity": "easy",
                                "time_of_day": "evening",
                            }
                        ],
                    }
                ],
            }
        ),
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.db'}",
        "ENCRYPTION_KEY": ENCRYPTION_KEY,
        "GEMINI_API_KEY": "test-key",
        "GEMINI_BASE_URL": fake_gemini.url,
        "INTERVALS_BASE_URL": fake_intervals.url,
        "LOG_LEVEL": "WARNING",
    }
    session = (
        "/help\n/connect i321 key-terminal-12345\nadd an easy run tomorrow\nplan my next days\n1\n1\n/plan\n"
    )

    done = subprocess.run(
        [sys.executable, "-m", "cli", "chat", "--as", "tess"],
        input=session,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "/connect ATHLETE_ID API_KEY" in out
    assert "Connected to Intervals.icu as Tess" in out
    assert "Added an easy run for tomorrow." in out and "✅ Synced to Intervals.icu." in out
    # The model's Markdown reads as plain text: no markup left, its HTML shown as typed.
    answer = out.split("Added an easy run")[1].split("[1] Generate plan")[0]
    assert markup_left(answer) == [] and all(word in answer for word in WORDS)
    assert '<script>alert("hi")</script>' in answer and "• Tuesday: easy spin\n    • 60 min at Z2" in answer
    assert "[1] Generate plan  [2] Cancel" in out
    assert "Total: 1 workout, TSS 60, 1h30." in out
    assert "[1] Save to calendar  [2] Regenerate  [3] Cancel" in out
    assert "Saved your 3-day plan: 1 workout, total TSS 60" in out
    assert "Z2 ride" in out.split("Your next 14 days:")[1]
    assert "key-terminal-12345" not in done.stderr
    # The plan replaced the uncompleted run in its range, here and in Intervals.icu.
    assert [e["name"] for e in fake_intervals.events("i321")] == ["Z2 ride"]

    open_database(env["DATABASE_URL"], Cipher(ENCRYPTION_KEY))
    try:
        with database.connection_context():
            assert WeeklyTrainingPlan.select().count() == 1
            assert [w.title for w in PlannedWorkout.select()] == ["Z2 ride"]
    finally:
        database.initialize(None)
