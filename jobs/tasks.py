"""The worker's jobs: each a few lines over core, with its resources in ``ctx``.

``ctx`` holds ``pool`` (IntervalsPool), ``model`` (the Gemini model, or None),
``notify`` (athlete id, Reply -> chats reached), ``notifier`` (the Notifier behind
``notify``; without one no platform is waited for) and arq's own ``redis``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from core import clock
from core.access import budgets
from core.coaching import after_workout, notices, proactive, pushes
from core.conversation import transcript
from core.errors import CoachError, IntervalsAuthError, IntervalsError
from core.logs import athlete_var
from core.messages import Reply
from core.metrics import QUEUE_ITEMS
from core.planning import plans, previews
from core.sync import outbox as sync
from core.sync import pull
from storage import db
from storage.models import Athlete, SyncQueue

logger = logging.getLogger(__name__)

Ctx = dict[str, Any]


async def _tell(ctx: Ctx, athlete_id: int, notice: Reply, item_id: str | None = None) -> None:
    """Send a notice its builder marked as given; unmarked again when it reached no chat because a
    platform does not answer, so the next pass that finds it due sends it then."""
    notifier = ctx.get("notifier")
    if not await ctx["notify"](athlete_id, notice) and notifier is not None and notifier.waiting:
        await db.call(notices.untold, athlete_id, notice, item_id)


async def _announce_failure(ctx: Ctx, item_id: str) -> None:
    notice = await notices.sync_failure(item_id)
    if notice is not None:
        await _tell(ctx, *notice, item_id)


async def _after_sync(ctx: Ctx, item_id: str, outcome: str | None) -> None:
    if outcome == "failed":
        await _announce_failure(ctx, item_id)


async def sync_item(ctx: Ctx, item_id: str) -> str | None:
    """Retry one queue item (scheduled with backoff after a failure)."""
    outcome = await sync.push(ctx["pool"], item_id)
    await _after_sync(ctx, item_id, outcome)
    return outcome


def _depth() -> dict[str, int]:
    rows = SyncQueue.select(SyncQueue.status).where(SyncQueue.status != "COMPLETED")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


# The design's alert thresholds, logged by the worker itself for operators without Prometheus.
ALERT_FAILURE_RATE = 0.20
ALERT_QUEUE_ITEMS = 1000
ALERT_MIN_ATTEMPTS = 5


def _alerts(counts: dict[str, int], depth: dict[str, int]) -> None:
    attempts = counts.get("synced", 0) + counts.get("pending", 0) + counts.get("failed", 0)
    failures = attempts - counts.get("synced", 0)
    if attempts >= ALERT_MIN_ATTEMPTS and failures == attempts:
        logger.warning("ALERT Intervals.icu unreachable: all %d sync attempts of this pass failed", attempts)
    elif attempts >= ALERT_MIN_ATTEMPTS and failures / attempts > ALERT_FAILURE_RATE:
        logger.warning(
            "ALERT sync failure rate %.0f%% (%d of %d) is above 20%%",
            100 * failures / attempts,
            failures,
            attempts,
        )
    if sum(depth.values()) > ALERT_QUEUE_ITEMS:
        logger.warning(
            "ALERT sync queue holds %d open items (threshold %d)", sum(depth.values()), ALERT_QUEUE_ITEMS
        )


async def _budget_alerts(ctx: Ctx) -> None:
    """The over-half-the-daily-budget alert of ops/prometheus-rules.yml, logged."""
    settings = ctx.get("settings")
    daily = settings.model_tokens_per_day if settings is not None else budgets.Budgets.tokens_per_day
    for athlete_id, used in await db.call(budgets.heavy_users, daily // 2):
        logger.warning(
            "ALERT athlete %s used %d model tokens today, more than half the daily budget of %d",
            athlete_id,
            used,
            daily,
        )


async def drain_sync_queue(ctx: Ctx) -> dict[str, int]:
    """The design's cron pass: every open item with attempts left, oldest first, 50 at a time."""
    counts = await sync.drain(ctx["pool"])
    for item_id in await db.call(notices.unannounced_failures):
        await _announce_failure(ctx, item_id)
    depth = await db.call(_depth)
    for status in ("PENDING", "FAILED"):
        QUEUE_ITEMS.labels(status).set(depth.get(status, 0))
    _alerts(counts, depth)
    await _budget_alerts(ctx)
    logger.info("sync pass %s; queue %s", counts, depth)
    return counts


def _exists(athlete_id: int) -> bool:
    return Athlete.select().where(Athlete.id == athlete_id).exists()


async def generate_weekly_plan(ctx: Ctx, athlete_id: int, payload: dict[str, Any]) -> str:
    """Draft a confirmed plan and send the athlete its preview (nothing is saved yet).

    What the athlete is sent joins the conversation, as the answer to their press does in process.
    """
    athlete_var.set(athlete_id)
    if not await db.call(_exists, athlete_id):
        logger.info("generate_weekly_plan: athlete %s was erased after asking; nothing to do", athlete_id)
        return "gone"
    request = plans.PlanRequest.from_payload(athlete_id, payload)
    if ctx.get("model") is None:
        await transcript.send(
            ctx["notify"],
            athlete_id,
            Reply("I can't generate plans right now: the coaching model isn't configured."),
        )
        logger.error("generate_weekly_plan needs GEMINI_API_KEY in the worker's environment")
        return "failed"
    try:
        preview = await previews.create(ctx["model"], request)
    except plans.PlanFailed as exc:
        await transcript.send(ctx["notify"], athlete_id, Reply(exc.user_message))
        return "failed"
    await transcript.send(ctx["notify"], athlete_id, preview)
    return "previewed"


def _connected() -> list[Athlete]:
    # Blocked athletes are neither pulled nor checked: nothing would reach them.
    return list(
        Athlete.select().where(Athlete.intervals_athlete_id.is_null(False) & Athlete.blocked_at.is_null())
    )


async def pull_everyone(ctx: Ctx) -> int:
    """Queue a pull for every connected athlete (one job per athlete at a time)."""
    ids = [a.id for a in await db.call(_connected)]
    for athlete_id in ids:
        await ctx["redis"].enqueue_job("pull_athlete", athlete_id, _job_id=f"pull:{athlete_id}")
    return len(ids)


PULL_AFTER_EVERY = dt.timedelta(minutes=10)


async def pull_after_workouts(ctx: Ctx) -> int:
    """Every 10 minutes: pull the athletes whose planned workout just ended, for a prompt note."""
    ids = await db.call(after_workout.due_pulls, clock.now(), PULL_AFTER_EVERY)
    for athlete_id in ids:
        await ctx["redis"].enqueue_job("pull_athlete", athlete_id, _job_id=f"pull:{athlete_id}")
    return len(ids)


async def pull_athlete(ctx: Ctx, athlete_id: int) -> dict[str, Any]:
    """Refresh one athlete from Intervals.icu and tell them which change was kept on a clash."""
    athlete_var.set(athlete_id)
    try:
        result = await pull.pull(ctx["pool"], athlete_id)
    except IntervalsAuthError:
        notice = await notices.key_rejected(athlete_id)
        if notice is not None:
            await _tell(ctx, athlete_id, notice)
        return {"error": "key rejected"}
    except IntervalsError as exc:
        logger.warning("pull athlete=%s failed: %s", athlete_id, exc.user_message)
        return {"error": exc.user_message}
    await proactive.after_pull(ctx.get("model"), athlete_id, clock.now())
    await deliver_pushes(ctx, athlete_id)
    if result.kept_local:
        await ctx["notify"](
            athlete_id,
            Reply(
                "You changed "
                + ", ".join(result.kept_local)
                + " both here and in Intervals.icu. I kept the change you made here and will sync it there."
            ),
        )
    return {"updated": result.updated, "deleted": result.deleted, "completed": result.completed}


async def check_credentials(ctx: Ctx) -> int:
    """Once a day: does Intervals.icu still accept each athlete's key? Tell each athlete once if not."""
    rejected = 0
    for athlete in await db.call(_connected):
        athlete_id = int(athlete.id)
        try:
            await ctx["pool"].client(athlete.intervals_athlete_id, athlete.intervals_api_key).get_profile()
        except IntervalsAuthError:
            rejected += 1
            notice = await notices.key_rejected(athlete_id)
            if notice is not None:
                await _tell(ctx, athlete_id, notice)
            continue
        except IntervalsError:
            continue  # unreachable today says nothing about the key
        await db.call(notices.key_accepted, athlete_id)
    return rejected


def _everyone() -> list[int]:
    # A blocked athlete hears nothing from the bot, morning messages included.
    return [a.id for a in Athlete.select(Athlete.id).where(Athlete.blocked_at.is_null())]


async def deliver_pushes(ctx: Ctx, athlete_id: int | None = None) -> int:
    """Send the pushes that are due (one athlete's, or everyone's); each goes out once across workers."""
    sent = 0
    now = clock.now()
    for due in await pushes.take_due(now, athlete_id):
        await pushes.record(due, await ctx["notify"](due.athlete_id, due.reply), now)
        sent += 1
    return sent


async def scheduled_for(athlete_id: int, now: dt.datetime) -> None:
    """One athlete's part of the hourly pass; what goes wrong is logged and stays theirs."""
    try:
        await proactive.scheduled(athlete_id, now)
    except CoachError as exc:
        logger.warning("hourly pass skipped athlete %s: %s", athlete_id, exc.user_message)
    except Exception:
        if await db.call(_exists, athlete_id):
            logger.exception("hourly pass failed for athlete %s", athlete_id)
        else:
            logger.info("hourly pass skipped athlete %s: erased meanwhile", athlete_id)


async def scheduled_pushes(ctx: Ctx) -> int:
    """Each hour: morning messages and recovery checks where it is morning, Sunday's reviews, then what is due."""
    now = clock.now()
    for athlete_id in await db.call(_everyone):
        await scheduled_for(athlete_id, now)
    return await deliver_pushes(ctx)
