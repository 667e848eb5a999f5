"""The arq worker: ``coach worker`` runs it (the Procfile's ``worker`` line).

Any number of workers may run against one database and Redis: queue items are
claimed in the database, and periodic jobs have fixed ids so each runs once.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from arq import cron, func

from bot.invalidation import shared_cache
from bot.notifier import Notifier
from bot.ops import serve
from core.coaching import recovery
from core.config import Settings, load_settings
from core.logs import setup_logging
from core.runtime import announce, make_model, make_pool, open_storage
from core.sync import outbox as sync
from jobs import tasks
from jobs.enqueue import retry_scheduler

logger = logging.getLogger(__name__)


async def startup(ctx: dict[str, Any]) -> None:
    """Open the database, the Intervals.icu pool, the model and the notifier, checking keys and tokens.

    Everything opened goes on ``ctx["resources"]`` first, so a start that fails half-way (a StartupError
    for the operator) still closes what it opened when arq calls ``shutdown``. Gemini, Telegram or
    Slack not answering is only a warning: syncing goes on, and the notifier asks the messenger again.
    """
    settings: Settings = ctx.get("settings") or load_settings()
    setup_logging(settings.log_level, settings.log_format)
    ctx["settings"] = settings
    ctx["resources"] = resources = contextlib.AsyncExitStack()
    open_storage(settings)
    announce(settings)
    ctx["pool"] = make_pool(settings)
    resources.push_async_callback(ctx["pool"].aclose)
    ctx["model"] = make_model(settings)
    recovery.configure(settings)
    if ctx["model"] is not None:
        resources.push_async_callback(ctx["model"].aclose)
        await ctx["model"].check()
    notifier = Notifier(settings)
    resources.push_async_callback(notifier.aclose)
    await notifier.start()
    ctx["notifier"], ctx["notify"] = notifier, notifier.notify
    sync.hooks.schedule_retry = retry_scheduler(ctx["redis"])
    await resources.enter_async_context(shared_cache(ctx["redis"]))
    if settings.metrics_port is not None:
        resources.push_async_callback((await serve(settings.metrics_port, ctx["redis"])).cleanup)
    logger.info("worker started")


async def shutdown(ctx: dict[str, Any]) -> None:
    """Close what startup opened."""
    sync.hooks.schedule_retry = None
    if "resources" in ctx:
        await ctx["resources"].aclose()


class WorkerSettings:
    """arq's settings class; ``coach worker`` passes the Redis URL."""

    functions = [
        func(tasks.sync_item, keep_result=0, max_tries=1),
        func(tasks.generate_weekly_plan, timeout=300, max_tries=1),
        func(tasks.pull_athlete, keep_result=0, timeout=120, max_tries=1),
        func(tasks.deliver_pushes, keep_result=0, max_tries=1),
    ]
    cron_jobs = [
        cron(tasks.drain_sync_queue, minute=set(range(0, 60, 5)), run_at_startup=True),
        cron(tasks.pull_everyone, minute={7, 37}),
        cron(tasks.pull_after_workouts, minute=set(range(3, 60, 10))),
        cron(tasks.check_credentials, hour={4}, minute={15}),
        cron(tasks.scheduled_pushes, minute={0}),
        # Held by quiet hours, left by a bot's /sync, or by a worker that stopped mid-way.
        cron(tasks.deliver_pushes, minute=set(range(2, 60, 5))),
    ]
    on_startup = startup
    on_shutdown = shutdown
    health_check_interval = 60
    job_timeout = 300
