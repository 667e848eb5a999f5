"""Seams the bot processes hand to core so work lands on the arq queue instead of running inline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from arq.connections import ArqRedis

from core import plans
from core.messages import Reply
from core.previews import PlanRunner
from core.sync import RetryScheduler


def plan_runner(redis: ArqRedis) -> PlanRunner:
    """Queue a confirmed plan generation; the worker sends the athlete the preview."""

    async def run(request: plans.PlanRequest, key: str) -> Reply:
        await redis.enqueue_job(
            "generate_weekly_plan", request.athlete_id, request.to_payload(), _job_id=f"plan:{key}"
        )
        return Reply(
            f"Generating your {request.days}-day plan now. I'll send you a preview to review "
            "(usually in 10-15 seconds)."
        )

    return run


def push_announcer(redis: ArqRedis) -> Callable[[int], Awaitable[None]]:
    """Have a worker deliver an athlete's due pushes now (the bots have no notifier of their own)."""

    async def announce(athlete_id: int) -> None:
        await redis.enqueue_job("deliver_pushes", athlete_id)

    return announce


def retry_scheduler(redis: ArqRedis) -> RetryScheduler:
    """Retry a failed sync item after ``delay`` seconds; one job per item and attempt."""

    async def schedule(item_id: str, delay: float, attempt: int) -> None:
        # The job id names the attempt: the running job still holds the previous one.
        await redis.enqueue_job("sync_item", item_id, _job_id=f"sync:{item_id}:{attempt}", _defer_by=delay)

    return schedule
