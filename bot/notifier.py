"""Push messages to an athlete on every platform where they have an identity.

Used by the worker (plan previews with their buttons, sync-failure and refused-key
notices, the coach's own pushes) without running any adapter's event loop: it
holds a plain Telegram bot and a Slack Web API client.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, ExtBot

from bot import slack, telegram
from bot.invite_link import api_urls
from core import athletes
from core.config import Settings
from core.messages import Reply
from core.metrics import MESSAGES
from storage import db

logger = logging.getLogger(__name__)


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

    async def start(self) -> None:
        """Open connections, checking the tokens (Telegram's getMe, Slack's auth.test)."""
        if self._telegram is not None:
            await telegram.initialize(self._telegram, self._telegram_url)
        if self._slack is not None:
            await slack.check_token(self._slack)

    async def aclose(self) -> None:
        """Close connections."""
        if self._telegram is not None:
            await self._telegram.shutdown()

    async def notify(self, athlete_id: int, reply: Reply) -> int:
        """Send ``reply`` to every chat of the athlete; returns how many chats got it."""
        delivered = 0
        for platform, chat_id in await db.call(athletes.identities, athlete_id):
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
