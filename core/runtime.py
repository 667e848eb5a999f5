"""Build the core's long-lived parts from Settings, once per process."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from peewee import Database, OperationalError

from core.access.admission import Access
from core.access.budgets import Budgets
from core.coaching import recovery
from core.config import Settings, coach_home, env_file, masked_url
from core.conversation.turn import Coach, Limits, Locker, PlanRunner
from core.errors import StartupError
from core.model.llm import GeminiModel
from core.sync.intervals import IntervalsPool
from storage.crypto import Cipher
from storage.db import open_database, secrets
from storage.keycheck import stored_secrets_state
from storage.migrate import migrate

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The model client, the Intervals.icu pool and the Coach that uses them."""

    model: GeminiModel
    pool: IntervalsPool
    coach: Coach

    async def aclose(self) -> None:
        """Close HTTP clients."""
        await self.pool.aclose()
        await self.model.aclose()


def sqlite_path(settings: Settings) -> Path | None:
    """The SQLite file DATABASE_URL names, or None for PostgreSQL and in-memory databases."""
    path = settings.database_url.removeprefix("sqlite:///")
    return Path(path) if path != settings.database_url and path not in ("", ":memory:") else None


def _missing_database(settings: Settings) -> StartupError:
    return StartupError(
        f"There is no database at {settings.database_url}: run coach migrate to create it, "
        f"or set COACH_HOME (now {coach_home()}) or DATABASE_URL to where it is."
    )


def connect_storage(settings: Settings, *, create: bool = True) -> Database:
    """Open the database of DATABASE_URL, refusing to create an SQLite file unless ``create``."""
    sqlite = sqlite_path(settings)
    if sqlite is not None and not create and not sqlite.exists():
        raise _missing_database(settings)
    cipher = Cipher(settings.encryption_key.get_secret_value()) if settings.encryption_key else None
    db = open_database(settings.database_url, cipher)
    try:
        db.connect(reuse_if_open=True)
    except OperationalError as exc:
        # The driver's first line says why (refused, unknown database, bad password), never the password.
        reason = " ".join(str(exc).splitlines()[0].rpartition("failed: ")[2].split())
        todo = "check that its folder exists and is writable" if sqlite else "start PostgreSQL"
        raise StartupError(
            f"The database is not reachable at {masked_url(settings.database_url)} ({reason}): "
            f"{todo} or set DATABASE_URL."
        ) from None
    finally:
        db.close()
    return db


def secrets_problem(settings: Settings, db: Database) -> str | None:
    """Why the stored API keys can't be read with ENCRYPTION_KEY, in one sentence; None when they can."""
    with db.connection_context():
        found = stored_secrets_state(db, secrets.cipher)
    where = masked_url(settings.database_url)
    if found == "no key":
        return (
            f"The database at {where} holds API keys encrypted with a key that is not set: restore the "
            f"ENCRYPTION_KEY it was written with (the .env backup) to {env_file()} or the environment. "
            "A new key can't read them."
        )
    if found == "wrong key":
        return (
            f"ENCRYPTION_KEY does not decrypt the API keys stored in {where}: restore the key it was written "
            "with. To change keys, set ENCRYPTION_KEY=new,old and run coach rotate-key."
        )
    return None


def open_storage(settings: Settings, *, need_secrets: bool = True, create: bool = True) -> list[str]:
    """Open the database, check its stored secrets decrypt, and bring its schema up to date.

    Every process does this on start; nothing is written when the key is wrong or missing.
    Returns the migrations applied now.
    """
    db = connect_storage(settings, create=create)
    problem = secrets_problem(settings, db)
    if problem:
        raise StartupError(problem)
    if need_secrets:
        settings.require("encryption_key")
    return migrate(db)


def announce(settings: Settings) -> None:
    """Log which .env and database a long-running process uses: the first thing to check when data looks gone."""
    found = "" if env_file().exists() else " (not found: environment only)"
    logger.info("settings from %s%s; database %s", env_file(), found, masked_url(settings.database_url))


def make_model(settings: Settings) -> GeminiModel | None:
    """The Gemini client, or None without GEMINI_API_KEY."""
    if settings.gemini_api_key is None:
        return None
    return GeminiModel(
        api_key=settings.gemini_api_key.get_secret_value(),
        model=settings.gemini_model,
        base_url=settings.gemini_base_url,
        timeout=settings.gemini_timeout,
        thinking=settings.gemini_thinking,
    )


def make_pool(settings: Settings) -> IntervalsPool:
    """The process's Intervals.icu connection pool and pacer."""
    return IntervalsPool(
        settings.intervals_base_url, timeout=settings.intervals_timeout, rate=settings.intervals_rate
    )


def build(
    settings: Settings,
    *,
    plan_runner: PlanRunner | None = None,
    locker: Locker | None = None,
    limits: Limits | None = None,
) -> Runtime:
    """Wire the Gemini model and Intervals.icu pool into a Coach."""
    settings.require("gemini_api_key")
    recovery.configure(settings)
    model = make_model(settings)
    assert model is not None
    pool = make_pool(settings)
    coach = Coach(
        model,
        pool,
        plan_runner=plan_runner,
        locker=locker,
        limits=limits or Limits(max_message_chars=settings.max_message_chars),
        policy=Access.from_settings(settings),
        budget=Budgets.from_settings(settings),
    )
    return Runtime(model, pool, coach)
