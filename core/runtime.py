"""Build the core's long-lived parts from Settings, once per process."""

from __future__ import annotations

from dataclasses import dataclass

from peewee import OperationalError

from core import recovery
from core.access import Access
from core.budgets import Budgets
from core.config import Settings, masked_url
from core.conversation import Coach, Limits, Locker, PlanRunner
from core.errors import StartupError
from core.intervals import IntervalsPool
from core.llm import GeminiModel
from storage.crypto import Cipher
from storage.db import open_database
from storage.migrate import migrate


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


def open_storage(settings: Settings, *, need_secrets: bool = True) -> list[str]:
    """Open the database and bring its schema up to date (every process does this on start).

    Returns the migrations applied now.
    """
    if need_secrets:
        settings.require("encryption_key")
    cipher = Cipher(settings.encryption_key.get_secret_value()) if settings.encryption_key else None
    db = open_database(settings.database_url, cipher)
    try:
        db.connect(reuse_if_open=True)
    except OperationalError as exc:
        # The driver's first line says why (refused, unknown database, bad password), never the password.
        reason = " ".join(str(exc).splitlines()[0].rpartition("failed: ")[2].split())
        sqlite = settings.database_url.startswith("sqlite")
        todo = "check that its folder exists and is writable" if sqlite else "start PostgreSQL"
        raise StartupError(
            f"The database is not reachable at {masked_url(settings.database_url)} ({reason}): "
            f"{todo} or set DATABASE_URL."
        ) from None
    db.close()
    return migrate(db)


def make_model(settings: Settings) -> GeminiModel | None:
    """The Gemini client, or None without GEMINI_API_KEY."""
    if settings.gemini_api_key is None:
        return None
    return GeminiModel(
        api_key=settings.gemini_api_key.get_secret_value(),
        model=settings.gemini_model,
        base_url=settings.gemini_base_url,
        timeout=settings.gemini_timeout,
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
