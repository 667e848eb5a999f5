"""The real python-telegram-bot application, long-polling the fake Telegram, for as long as a block runs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from bot import telegram
from core.conversation.turn import Coach
from tests.fakes.telegram import FakeTelegram


@contextlib.asynccontextmanager
async def polling(coach: Coach, fake: FakeTelegram) -> AsyncIterator[Any]:
    """Build the app on ``coach``, start it against ``fake``, stop it at the end; yields the app."""
    application = telegram.build_app(coach, fake.token, fake.url)
    async with application:
        await telegram.start(application, poll_timeout=1)
        try:
            yield application
        finally:
            await telegram.stop(application)
