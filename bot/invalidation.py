"""Cache invalidation between processes: a write in one process drops the cached copy in all.

Published on a Redis channel; every bot and worker process listens. A process
that misses messages (Redis restarted) clears its whole cache on reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from core import cache

logger = logging.getLogger(__name__)

CHANNEL = "coach:cache-invalidate"


def publisher(redis: Any) -> Callable[[str, int], None]:
    """A ``cache.hooks.publish`` that announces a write to the other processes."""
    pending: set[asyncio.Task[Any]] = set()

    def publish(kind: str, athlete_id: int) -> None:
        task = asyncio.get_running_loop().create_task(redis.publish(CHANNEL, f"{kind}:{athlete_id}"))
        pending.add(task)  # keep a reference until it is sent
        task.add_done_callback(pending.discard)

    return publish


async def listen(redis: Any) -> None:
    """Forget cached values other processes changed; runs until cancelled."""
    while True:
        try:
            pubsub = redis.pubsub()
            await pubsub.subscribe(CHANNEL)
            cache.clear()  # anything published while we were not listening is unknown
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                data = message["data"].decode() if isinstance(message["data"], bytes) else message["data"]
                kind, _, athlete = str(data).partition(":")
                if kind in cache.TTL_SECONDS and athlete.isdigit():
                    cache.forget(kind, int(athlete))
        except (ConnectionError, OSError) as exc:
            logger.warning("cache invalidation feed lost (%s); retrying", type(exc).__name__)
            await asyncio.sleep(1)


@contextlib.asynccontextmanager
async def shared_cache(redis: Any) -> Any:
    """Publish this process's writes and apply everyone else's while the block runs."""
    cache.hooks.publish = publisher(redis)
    task = asyncio.create_task(listen(redis))
    try:
        yield
    finally:
        cache.hooks.publish = None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
