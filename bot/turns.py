"""Turns of one athlete in arrival order across every bot instance, through Redis.

Each waiting turn appends a token to the athlete's Redis list and proceeds when
its token is at the head; it removes it when done. A token keeps a short-lived
"alive" key fresh while it waits or works, so the turn of a crashed instance is
skipped after a few seconds instead of blocking the athlete forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

ALIVE_SECONDS = 10
POLL_SECONDS = 0.02


def redis_turns(redis: Any) -> Any:
    """A ``Locker`` for core.conversation.turn.Coach backed by ``redis`` (redis.asyncio)."""

    @contextlib.asynccontextmanager
    async def turn(athlete_id: int) -> AsyncIterator[None]:
        queue = f"coach:turns:{athlete_id}"
        token = uuid.uuid4().hex
        alive = f"{queue}:alive:{token}"

        async def keep_alive() -> None:
            while True:
                await redis.set(alive, 1, ex=ALIVE_SECONDS)
                await asyncio.sleep(ALIVE_SECONDS / 3)

        heartbeat = asyncio.create_task(keep_alive())
        try:
            await redis.set(alive, 1, ex=ALIVE_SECONDS)
            await redis.rpush(queue, token)
            await redis.expire(queue, 24 * 3600)
            while True:
                head = await redis.lindex(queue, 0)
                head = head.decode() if isinstance(head, bytes) else head
                if head == token:
                    break
                if head is not None and not await redis.exists(f"{queue}:alive:{head}"):
                    await redis.lrem(queue, 1, head)  # its instance died
                    continue
                await asyncio.sleep(POLL_SECONDS)
            yield
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            await redis.lrem(queue, 1, token)
            await redis.delete(alive)

    return turn
