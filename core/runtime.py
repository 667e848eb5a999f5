"""Build the core's long-lived parts from Settings, once per process."""

from __future__ import annotations

from dataclasses import dataclass

from core.config import Settings
from core.conversation import Coach, Limits, Locker, PlanRunner
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


def open_storage(settings: Settings, *, need_secrets: bool = True) -> None:
    """Open the database and bring its schema up to date (every process does this on start)."""
    if need_secrets:
        settings.require("encryption_key")
    cipher = Cipher(settings.encryption_key.get_secret_value()) if settings.encryption_key else None
    migrate(open_database(settings.database_url, cipher))


def build(
    settings: Settings,
    *,
    plan_runner: PlanRunner | None = None,
    locker: Locker | None = None,
    limits: Limits | None = None,
) -> Runtime:
    """Wire the Gemini model and Intervals.icu pool into a Coach."""
    settings.require("gemini_api_key")
    assert settings.gemini_api_key is not None
    model = GeminiModel(
        api_key=settings.gemini_api_key.get_secret_value(),
        model=settings.gemini_model,
        base_url=settings.gemini_base_url,
        timeout=settings.gemini_timeout,
    )
    pool = IntervalsPool(
        settings.intervals_base_url, timeout=settings.intervals_timeout, rate=settings.intervals_rate
    )
    coach = Coach(model, pool, plan_runner=plan_runner, locker=locker, limits=limits)
    return Runtime(model, pool, coach)
