"""Push messages to an athlete on every platform where they have an identity.

Used by the worker (plan previews with their buttons, sync-failure and refused-key
notices, the coach's own pushes) without running any adapter's event loop: it
holds a plain Telegram bot and a Slack Web API client.

A platform that does not answer at start is asked again in the background while the
worker goes on; until it answers, its chats are skipped, so nothing counts as delivered
there and pushes and notices are given again by a later pass.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, ExtBot

from bot import slack, telegram
from bot.invite_link import api_urls
from core.access import athletes
from core.config import Settings
from core.errors import StartupError, Unreachable
from core.messages import Reply
from core.metrics import MESSAGES
from storage import db

logger = logging.getLogger(__name__)

# Seconds between the background checks of a platform that does not answer; the last repeats.
RECHECK_SECONDS = (5.0, 30.0, 60.0)
NAMES = {telegram.PLATFORM: "Telegram", slack.PLATFORM: "Slack"}


class Notifier:
    """Sends a Reply, buttons included, to all of an athlete's chats."""

    def __init__(self, settings: Settings) -> None:
        self._telegram: ExtBot[Any] | None = None
        self._telegram_url = settings.telegram_api_base_url
        self._slack: AsyncWebClient | None = None
        if settings.telegram_bot_token is not None:
            self._telegram = ExtBot(
                settings.telegram_bot_token.get_secret_value(),
                **api_urls(settings.telegram_api_base_url),
                rate_limiter=AIORateLimiter(max_retries=3),
            )
        if settings.slack_bot_token is not None:
            self._slack = slack.web_client(
                settings.slack_bot_token.get_secret_value(), settings.slack_api_url
            )
        self._down: set[str] = set()
        self._rechecks: list[asyncio.Task[None]] = []

    @property
    def waiting(self) -> bool:
        """Whether a platform does not answer, so a message that reached no chat may reach one later."""
        return bool(self._down)

    async def start(self) -> None:
        """Open connections, checking the tokens (Telegram's getMe, Slack's auth.test).

        A refused token is a StartupError; a platform that does not answer is one warning line,
        and is asked again in the background.
        """
        if self._telegram is not None:
            await self._start(
                telegram.PLATFORM, functools.partial(telegram.initialize, self._telegram, self._telegram_url)
            )
        if self._slack is not None:
            await self._start(slack.PLATFORM, functools.partial(slack.check_token, self._slack))

    async def _start(self, platform: str, check: Callable[[], Awaitable[None]]) -> None:
        try:
            await check()
        except Unreachable as exc:
            logger.warning("%s Starting anyway: messages wait until it answers.", exc.user_message)
            self._down.add(platform)
            self._rechecks.append(asyncio.create_task(self._until_back(platform, check)))

    async def _until_back(self, platform: str, check: Callable[[], Awaitable[None]]) -> None:
        for attempt in itertools.count():
            await asyncio.sleep(RECHECK_SECONDS[min(attempt, len(RECHECK_SECONDS) - 1)])
            try:
                await check()
            except Unreachable:
                continue
            except StartupError as exc:
                # It answers but refuses the token: only the operator can help, so stop asking.
                logger.error("%s Messages to %s wait for a restart.", exc.user_message, NAMES[platform])
                return
            self._down.discard(platform)
            logger.info("%s answers again: messages go out", NAMES[platform])
            return

    async def aclose(self) -> None:
        """Stop the background checks, close connections."""
        for task in self._rechecks:
            task.cancel()
        await asyncio.gather(*self._rechecks, return_exceptions=True)
        if self._telegram is not None:
            await self._telegram.shutdown()

    async def notify(self, athlete_id: int, reply: Reply) -> int:
        """Send ``reply`` to every chat of the athlete; returns how many chats got it."""
        delivered = 0
        for platform, chat_id in await db.call(athletes.identities, athlete_id):
            if platform in self._down:
                logger.warning("notify athlete %s on %s waits: it does not answer", athlete_id, platform)
                continue
            try:
                if platform == telegram.PLATFORM and self._telegram is not None:
                    await telegram.send(self._telegram, chat_id, reply)
                elif platform == slack.PLATFORM and self._slack is not None:
                    await slack.send(self._slack, chat_id, reply)
                else:
                    continue
                MESSAGES.labels(platform, "out").inc()
                delivered += 1
            except (TelegramError, *slack.SLACK_DOWN, OSError) as exc:
                # One platform being down must not stop the others; it is expected, so no traceback.
                logger.warning(
                    "notify athlete %s on %s failed: %s: %s", athlete_id, platform, type(exc).__name__, exc
                )
        logger.info("notified athlete %s on %d chat(s)", athlete_id, delivered)
        return delivered
