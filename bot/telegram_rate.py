"""Telegram's flood budget (about 30 calls a second per bot) spent on replies first.

PTB's AIORateLimiter paces every call aimed at a chat through one bucket, first come first served,
so the "typing…" actions of a crowd of athletes sit in the queue ahead of the replies that follow
them. Here a chat action never waits: it goes out only while no other call is waiting for the
budget and at least half of the bucket is free, and is skipped otherwise (it only decorates a turn
and is renewed a few seconds later). A reply therefore never queues behind a chat action, and the
actions sent can use at most half of a second's budget, which drains before a turn's model call ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)

CHAT_ACTION = "sendChatAction"
Result = bool | dict[str, Any] | list[dict[str, Any]]


class RepliesFirst(AIORateLimiter):
    """AIORateLimiter whose chat actions are sent only from spare budget, never waiting for it."""

    __slots__ = ("_waiting",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._waiting = 0  # calls inside process_request that have not been sent yet

    def _spare(self, data: dict[str, Any]) -> bool:
        chat = data.get("chat_id")
        # A group's budget is 20 a minute: too little to spend on "typing…".
        private = isinstance(chat, int) and chat > 0
        bucket = self._base_limiter
        half_free = bucket is None or bucket.has_capacity(bucket.max_rate / 2)
        return private and half_free and self._waiting == 0 and self._retry_after_event.is_set()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        """Chat actions from spare budget only (False when skipped); everything else as AIORateLimiter."""
        if endpoint == CHAT_ACTION:
            if not self._spare(data):
                logger.debug("chat action skipped: the budget is spoken for")
                return False
            if self._base_limiter is None:
                return await callback(*args, **kwargs)
            async with self._base_limiter:  # free now (checked above): this does not wait
                return await callback(*args, **kwargs)
        self._waiting += 1
        sent = False

        async def send(*call_args: Any, **call_kwargs: Any) -> Result:
            nonlocal sent
            if not sent:  # past the limiter: no longer waiting for the budget
                sent = True
                self._waiting -= 1
            return await callback(*call_args, **call_kwargs)

        try:
            return await super().process_request(send, args, kwargs, endpoint, data, rate_limit_args)
        finally:
            if not sent:
                self._waiting -= 1
