"""``coach status``: the one report an operator reads when something looks wrong.

Each check says what it found in a line, and whether that is a problem. Nothing
here writes: a missing SQLite file is reported, never created, and pending
migrations are listed, not applied.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import Any

from arq.constants import default_queue_name, health_check_key_suffix

from core import clock
from core.config import Settings, coach_home, env_file, masked_url
from core.errors import StartupError
from core.model.lifecycle import is_shut_down, retirement_warning
from core.runtime import connect_storage, secrets_problem
from core.sync.outbox import queue_summary
from jobs.enqueue import QUEUE_DOWN, redis_settings
from storage.migrate import pending


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    ok: bool
    says: str


def _settings_checks(settings: Settings) -> list[Check]:
    found = env_file().exists()
    return [
        Check("home", True, f"COACH_HOME {coach_home()}"),
        Check("settings", True, f"{env_file()}" + ("" if found else " (not found: environment only)")),
    ]


def _database_checks(settings: Settings) -> list[Check]:
    where = masked_url(settings.database_url)
    try:
        db = connect_storage(settings, create=False)
    except StartupError as exc:
        return [Check("database", False, exc.user_message)]
    with db.connection_context():
        todo = pending(db)
    checks = [
        Check(
            "database",
            not todo,
            f"{where}: "
            + (f"{len(todo)} migration(s) pending, run coach migrate" if todo else "schema up to date"),
        )
    ]
    problem = secrets_problem(settings, db)
    if settings.encryption_key is None and problem is None:
        checks.append(Check("encryption", False, "ENCRYPTION_KEY is not set: run scripts/run or coach init"))
    else:
        checks.append(
            Check("encryption", problem is None, problem or "ENCRYPTION_KEY decrypts the stored keys")
        )
    if not todo:
        with db.connection_context():
            depth, oldest = queue_summary()
        says = f"{depth} change(s) waiting" + (
            f", oldest since {oldest:%Y-%m-%d %H:%M} UTC" if oldest else ""
        )
        checks.append(Check("sync queue", True, says))
    return checks


async def _redis_checks(settings: Settings) -> list[Check]:
    from arq.connections import create_pool

    try:
        redis = await create_pool(dataclasses.replace(redis_settings(settings.redis_url), conn_retries=0))
    except QUEUE_DOWN as exc:
        return [
            Check("redis", False, f"{masked_url(settings.redis_url)} is not reachable ({type(exc).__name__})")
        ]
    try:
        beat: Any = await redis.get(default_queue_name + health_check_key_suffix)
    finally:
        await redis.aclose()
    worker = (
        Check("worker", True, f"alive: {beat.decode()}")
        if beat
        else Check("worker", False, "no heartbeat in the last minute: start coach worker")
    )
    return [Check("redis", True, f"{masked_url(settings.redis_url)} answers"), worker]


def _model_check(settings: Settings) -> Check:
    # From Google's published shutdown dates only: status spends no call on the model.
    today = clock.now().date()
    warning = retirement_warning(settings.gemini_model, today)
    return Check(
        "gemini model", not is_shut_down(settings.gemini_model, today), warning or settings.gemini_model
    )


def _next_steps(settings: Settings) -> list[Check]:
    lines = []
    if settings.gemini_api_key is None:
        lines.append("set GEMINI_API_KEY to talk to the coach (coach chat, Telegram, Slack)")
    if settings.telegram_bot_token is None:
        lines.append("set TELEGRAM_BOT_TOKEN (from @BotFather) to run the Telegram bot")
    if settings.slack_bot_token is None or (
        settings.slack_signing_secret is None and settings.slack_app_token is None
    ):
        lines.append(
            "set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP) to run the Slack bot"
        )
    return [Check("next", True, line) for line in lines]


def report(settings: Settings) -> list[Check]:
    """Every check, in the order an operator reads them."""
    return [
        *_settings_checks(settings),
        *_database_checks(settings),
        *asyncio.run(_redis_checks(settings)),
        _model_check(settings),
        *_next_steps(settings),
    ]
