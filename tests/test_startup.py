"""Start-up failures of the real ``coach`` processes: one line naming the setting, exit code 1, no traceback.

Each case runs the installed ``coach`` entry point against the fakes (which refuse bad keys and
tokens as the real services do) or against a port nothing listens on.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ENCRYPTION_KEY, REDIS_URL, REQUIRE_SERVICES
from tests.fakes.gemini import FakeGemini
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram

DB_PASSWORD = "pw-never-shown-4711"
WRONG_GEMINI_KEY = "AIza-wrong-key-0815"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def coach() -> list[str]:
    script = Path(sys.executable).with_name("coach")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli"]


@dataclass(frozen=True)
class Case:
    """What to break, and the line the operator must read (start and end; the middle says why)."""

    settings: dict[str, str]
    starts: str
    ends: str


def cases(port: int) -> dict[str, Case]:
    unreachable_db = f"postgresql://coach:{DB_PASSWORD}@127.0.0.1:{port}/coach"
    return {
        "redis": Case(
            {"REDIS_URL": f"redis://127.0.0.1:{port}/0"},
            f"Redis is not reachable at redis://127.0.0.1:{port}/0 (",
            "): start redis-server or set REDIS_URL.",
        ),
        "database": Case(
            {"DATABASE_URL": unreachable_db},
            f"The database is not reachable at postgresql://coach:***@127.0.0.1:{port}/coach (",
            "): start PostgreSQL or set DATABASE_URL.",
        ),
        "sqlite": Case(
            {"DATABASE_URL": "sqlite:////nonexistent-folder/coach.db"},
            "The database is not reachable at sqlite:////nonexistent-folder/coach.db (",
            "): check that its folder exists and is writable or set DATABASE_URL.",
        ),
        "retired model": Case(
            {"GEMINI_MODEL": "gemini-2.5-flash"},
            "Gemini does not know GEMINI_MODEL=gemini-2.5-flash (404 NOT_FOUND; shut down or mistyped)",
            ": set GEMINI_MODEL to a current model such as gemini-3.1-flash-lite, gemini-3.5-flash, "
            "gemini-3.5-flash-lite, gemini-3.6-flash, gemini-3.7-flash, gemini-3.8-flash.",
        ),
        "gemini key": Case(
            {"GEMINI_API_KEY": WRONG_GEMINI_KEY},
            "Gemini refused GEMINI_API_KEY (API key not valid. Please pass a valid API key.)",
            ": create a key at https://aistudio.google.com/apikey and set GEMINI_API_KEY.",
        ),
        "telegram token": Case(
            {"TELEGRAM_BOT_TOKEN": "123456:revoked-token-AAAA"},
            "Telegram refused TELEGRAM_BOT_TOKEN",
            ": copy the token @BotFather gave you into TELEGRAM_BOT_TOKEN.",
        ),
        "malformed telegram token": Case(
            {"TELEGRAM_BOT_TOKEN": "not-a-bot-token"},
            "Telegram refused TELEGRAM_BOT_TOKEN",
            ": copy the token @BotFather gave you into TELEGRAM_BOT_TOKEN.",
        ),
        "slack token": Case(
            {"SLACK_BOT_TOKEN": "xoxb-revoked-token"},
            "Slack refused SLACK_BOT_TOKEN (invalid_auth)",
            ": set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…).",
        ),
        "slack app token": Case(
            {"SLACK_APP_TOKEN": "xapp-revoked-token"},
            "Slack refused SLACK_APP_TOKEN (invalid_auth)",
            ": set SLACK_APP_TOKEN to an app-level token with connections:write (xapp-…).",
        ),
    }


# Each process against each failure that applies to it. `coach chat` uses no Redis and no messenger.
RUNS = [
    *[
        ("telegram", c)
        for c in ("redis", "database", "sqlite", "gemini key", "retired model", "telegram token")
    ],
    ("telegram", "malformed telegram token"),
    *[("slack", c) for c in ("redis", "database", "gemini key", "slack token", "slack app token")],
    *[("worker", c) for c in ("redis", "database", "gemini key", "telegram token", "slack token")],
    *[("chat", c) for c in ("database", "sqlite", "gemini key", "retired model")],
    ("worker", "retired model"),
]


@pytest.fixture
def env(
    tmp_path: Path, fake_gemini: FakeGemini, fake_telegram: FakeTelegram, fake_slack: FakeSlack
) -> dict[str, str]:
    """Settings under which every process starts, so each case breaks exactly one thing."""
    if not REDIS_URL:
        if REQUIRE_SERVICES:
            pytest.fail("COACH_TEST_REDIS_URL is not set; run the suite with scripts/test")
        pytest.skip("Redis not configured (run scripts/test)")
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'coach.db'}",
        "ENCRYPTION_KEY": ENCRYPTION_KEY,
        "REDIS_URL": REDIS_URL,
        "GEMINI_API_KEY": fake_gemini.api_key,
        "GEMINI_BASE_URL": fake_gemini.url,
        "TELEGRAM_BOT_TOKEN": fake_telegram.token,
        "TELEGRAM_API_BASE_URL": fake_telegram.url,
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_APP_TOKEN": fake_slack.app_token,
        "SLACK_API_URL": fake_slack.url,
        "LOG_FORMAT": "json",
    }


@pytest.mark.parametrize(("command", "case"), RUNS, ids=[f"{c}-{k.replace(' ', '-')}" for c, k in RUNS])
def test_start_up_failure_is_one_clear_line(
    command: str, case: str, env: dict[str, str], tmp_path: Path
) -> None:
    broken = cases(free_port())[case]

    done = subprocess.run(
        [*coach(), command],
        env={**env, **broken.settings},
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    # Logs are JSON lines; besides them the process says exactly one thing, last.
    said = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert len(said) == 1 and said == done.stderr.splitlines()[-1:], done.stderr[-2000:]
    line = said[0].removeprefix("coach: ")
    assert line.startswith(broken.starts) and line.endswith(broken.ends), line
    secrets = [DB_PASSWORD, WRONG_GEMINI_KEY, *(v for k, v in broken.settings.items() if "TOKEN" in k)]
    for secret in secrets:  # a Telegram token's secret is the part after the colon
        assert secret.rpartition(":")[2] not in done.stderr + done.stdout
