"""The arq queue: opening it, and the seams the bot processes hand to core so work lands on it."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.exceptions import RedisError

from core import actions
from core.config import masked_url
from core.errors import CoachError, StartupError
from core.messages import Reply
from core.planning import plans
from core.planning.previews import PlanRunner
from core.sync.outbox import RetryScheduler

logger = logging.getLogger(__name__)

# What a Redis call fails with when Redis is down or unreachable (TimeoutError is an OSError).
QUEUE_DOWN = (OSError, RedisError)


class QueueUnavailable(CoachError):
    """Redis did not take a job: nothing was queued; the athlete may try again shortly."""


def redis_settings(url: str) -> RedisSettings:
    """arq's connection settings from REDIS_URL."""
    return RedisSettings.from_dsn(url)


async def open_queue(url: str) -> ArqRedis:
    """The arq pool at ``url``; Redis not answering is a StartupError naming REDIS_URL.

    No retries: a process without its queue can't do its work, so it stops at once and says why.
    """
    try:
        return await create_pool(dataclasses.replace(redis_settings(url), conn_retries=0))
    except QUEUE_DOWN as exc:
        # redis-py says "Error 111 connecting to host:port. Connection refused.": keep the why.
        reason = " ".join(str(exc).split()).rstrip(".").rpartition(". ")[2] or type(exc).__name__
        raise StartupError(
            f"Redis is not reachable at {masked_url(url)} ({reason}): start redis-server or set REDIS_URL."
        ) from None


def plan_runner(redis: ArqRedis) -> PlanRunner:
    """Queue a confirmed plan generation; the worker sends the athlete the preview.

    ``key`` is the id of the pressed action: when Redis refuses the job, the press is given back
    (its buttons work again) and QueueUnavailable says so.
    """

    async def run(request: plans.PlanRequest, key: str) -> Reply:
        try:
            await redis.enqueue_job(
                "generate_weekly_plan", request.athlete_id, request.to_payload(), _job_id=f"plan:{key}"
            )
        except QUEUE_DOWN as exc:
            logger.warning(
                "plan generation of athlete %s not queued: %s", request.athlete_id, type(exc).__name__
            )
            await actions.release(request.athlete_id, key)
            raise QueueUnavailable("I can't queue that right now, please try again in a minute.") from None
        return Reply(
            f"Generating your {request.days}-day plan now. I'll send you a preview to review "
            "(usually in 10-15 seconds)."
        )

    return run


def push_announcer(redis: ArqRedis) -> Callable[[int], Awaitable[None]]:
    """Have a worker deliver an athlete's due pushes now (the bots have no notifier of their own).

    Without Redis the pushes just wait: the worker's delivery pass every five minutes finds them.
    """

    async def announce(athlete_id: int) -> None:
        try:
            await redis.enqueue_job("deliver_pushes", athlete_id)
        except QUEUE_DOWN as exc:
            logger.warning("pushes of athlete %s not announced: %s", athlete_id, type(exc).__name__)

    return announce


def retry_scheduler(redis: ArqRedis) -> RetryScheduler:
    """Retry a failed sync item after ``delay`` seconds; one job per item and attempt.

    Without Redis the item just waits in the database: the worker's retry pass every five minutes
    finds it, so the change the athlete made still stands and the turn still answers.
    """

    async def schedule(item_id: str, delay: float, attempt: int) -> None:
        try:
            # The job id names the attempt: the running job still holds the previous one.
            await redis.enqueue_job(
                "sync_item", item_id, _job_id=f"sync:{item_id}:{attempt}", _defer_by=delay
            )
        except QUEUE_DOWN as exc:
            logger.warning("retry of sync item %s not scheduled: %s", item_id, type(exc).__name__)

    return schedule
