"""Per-athlete budgets: turns an hour, model tokens a day, and a brake on floods.

Each budget is one ``usage`` row per athlete: a window that opens with the first use
and an amount used in it. Adding to it is a single upsert whose CASE restarts an
expired window, so every bot instance sharing the database counts the same turns and
nobody can outrun the limit by spreading messages over instances.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from peewee import Case

from core import clock
from core.clock import zone
from core.config import Settings
from core.messages import Reply
from core.metrics import ATHLETE_TOKENS, TOKENS_PER_DAY, TURNS_REFUSED
from storage import db
from storage.models import Athlete, Usage, utcnow

logger = logging.getLogger(__name__)

HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
STILL_WORKS = "/plan, /availability, /sync and buttons still work."
FLOOD = "That's a lot of messages at once. Give me a few seconds, then send me one message."


@dataclass(frozen=True)
class Budgets:
    """The limits of one bot process (from settings; the same on every instance)."""

    turns_per_hour: int = 60
    tokens_per_day: int = 500_000
    flood_messages: int = 5  # more than this many messages ...
    flood_seconds: float = 10.0  # ... within this many seconds is a flood

    def __post_init__(self) -> None:
        # The over-budget alert rule (ops/prometheus-rules.yml) reads the budget from here.
        TOKENS_PER_DAY.set(self.tokens_per_day)

    @classmethod
    def from_settings(cls, settings: Settings) -> Budgets:
        """TURNS_PER_HOUR and MODEL_TOKENS_PER_DAY."""
        return cls(turns_per_hour=settings.turns_per_hour, tokens_per_day=settings.model_tokens_per_day)


def _add(athlete_id: int, budget: str, amount: int, window: dt.timedelta) -> tuple[int, dt.datetime]:
    """Add to the athlete's budget, opening a new window if the last one ended; (used, window start).

    One atomic upsert that returns the sum it wrote, so instances counting at once each see their own.
    """
    now = utcnow()
    expired = Usage.window_start <= now - window
    # RETURNING (PostgreSQL, SQLite 3.35+) hands back the row as the upsert left it: no second query.
    [row] = (
        Usage.insert(athlete=athlete_id, budget=budget, window_start=now, amount=amount)
        .on_conflict(
            conflict_target=[Usage.athlete, Usage.budget],
            update={
                Usage.amount: Case(None, [(expired, amount)], Usage.amount + amount),
                Usage.window_start: Case(None, [(expired, now)], Usage.window_start),
            },
        )
        .returning(Usage.amount, Usage.window_start)
        .execute()
    )
    return int(row.amount), row.window_start


def charge(athlete_id: int, tokens: int) -> None:
    """Add model tokens to the athlete's day (sync: call inside the caller's transaction or db.call)."""
    if tokens > 0:
        with db.transaction():  # a savepoint when the caller already holds one
            _add(athlete_id, "tokens", tokens, DAY)
        ATHLETE_TOKENS.labels(str(athlete_id)).inc(tokens)


def _used(athlete_id: int, budget: str, window: dt.timedelta) -> tuple[int, dt.datetime | None]:
    row = Usage.get_or_none((Usage.athlete == athlete_id) & (Usage.budget == budget))
    if row is None or row.window_start <= utcnow() - window:
        return 0, None
    return int(row.amount), row.window_start


def _when(athlete_id: int, moment: dt.datetime) -> str:
    """``moment`` (naive UTC) as the athlete reads it: "at 14:05" or "tomorrow at 09:12"."""
    athlete = Athlete.get_or_none(Athlete.id == athlete_id)
    tz = zone(athlete.timezone if athlete else "UTC")
    local = moment.replace(tzinfo=dt.UTC).astimezone(tz)
    days = (local.date() - clock.now().astimezone(tz).date()).days
    day = {0: "", 1: "tomorrow "}.get(days, f"on {local:%a %d %b} ")
    return f"{day}at {local:%H:%M} ({tz.key})"


Verdict = tuple[str, str | None]  # (reason, reply text or None to stay silent)


def check(budgets: Budgets, athlete_id: int) -> Verdict | None:
    """Count a message bound for the model: None when it may go ahead (sync; call through db.call,
    or inside the turn's first database call, which saves one)."""
    with db.transaction():  # one round of commits for the three budgets
        return _check_all(budgets, athlete_id)


def _check_all(budgets: Budgets, athlete_id: int) -> Verdict | None:
    burst, _ = _add(athlete_id, "burst", 1, dt.timedelta(seconds=budgets.flood_seconds))
    if burst > budgets.flood_messages:
        # Said once per flood; the rest of it gets no answer at all.
        return "flood", FLOOD if burst == budgets.flood_messages + 1 else None
    tokens, since = _used(athlete_id, "tokens", DAY)
    if since is not None and tokens >= budgets.tokens_per_day:
        return "tokens", (
            "You've used today's share of the coaching model. "
            f"You can continue {_when(athlete_id, since + DAY)}. {STILL_WORKS}"
        )
    turns, since = _add(athlete_id, "turns", 1, HOUR)
    if turns > budgets.turns_per_hour:
        return "turns", (
            f"You've reached the limit of {budgets.turns_per_hour} messages an hour. "
            f"You can continue {_when(athlete_id, since + HOUR)}. {STILL_WORKS}"
        )
    return None


def refusal(athlete_id: int, verdict: Verdict) -> Reply | None:
    """What to say for a turn over budget (None: nothing), counted and logged."""
    reason, text = verdict
    TURNS_REFUSED.labels(reason).inc()
    logger.info("athlete %s: turn refused (%s)", athlete_id, reason)
    return Reply(text) if text else None


def refused(reason: str, text: str) -> Reply:
    """A brief answer given instead of a turn (too long, unsupported), counted by reason."""
    TURNS_REFUSED.labels(reason).inc()
    return Reply(text)


async def spend(athlete_id: int, tokens: int) -> None:
    """Charge model tokens spent outside a turn (plan drafts, after-workout notes) to the athlete's day."""
    await db.call(charge, athlete_id, tokens)


def heavy_users(threshold: int) -> list[tuple[int, int]]:
    """(athlete id, tokens) of everyone past ``threshold`` tokens in their current day (sync)."""
    rows = Usage.select(Usage.athlete, Usage.amount).where(
        (Usage.budget == "tokens") & (Usage.window_start > utcnow() - DAY) & (Usage.amount > threshold)
    )
    return [(int(a), int(n)) for a, n in rows.tuples()]
