"""Pending actions behind confirmation buttons.

A button carries only ``a:<id>:<choice>`` (well under Telegram's 64 bytes); the
action itself lives in the database, so a button sent by any process works in
any other. An action belongs to one athlete, expires, and is claimed at most
once by a single conditional UPDATE, so a double press cannot run it twice.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from core.errors import CoachError
from core.messages import Button
from storage import db
from storage.models import PendingAction, utcnow

TTL = dt.timedelta(hours=2)
# A plan preview waits a day: the athlete may look at it tonight and save it tomorrow.
TTLS = {"plan_preview": dt.timedelta(hours=24)}

# kind -> ((label, choice), ...); "yes" performs, "no" declines, "again" asks anew; other choices pick
# among ways to act.
CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "generate_plan": (("Generate plan", "yes"), ("Cancel", "no")),
    "delete_workout": (("Delete", "yes"), ("Keep", "no")),
    "override_workout": (("Schedule anyway", "yes"), ("Pick another day", "no")),
    "retry_sync": (("Retry now", "yes"), ("Later", "no")),
    "erase_athlete": (("Erase everything", "yes"), ("Keep", "no")),
    "plan_next_week": (("Plan next week", "yes"), ("Not now", "no")),
    "recovery": (("Make today easy", "easy"), ("Rest today", "rest"), ("Keep the plan", "keep")),
    "plan_preview": (("Save to calendar", "yes"), ("Regenerate", "again"), ("Cancel", "no")),
    "undo_change": (("Undo", "yes"), ("Keep", "no")),
}

# Said of a button whose action is gone or belongs to someone else (and of any button pressed by
# someone who is no athlete).
NOT_YOURS = "That button isn't yours or no longer exists."

_PAYLOAD = re.compile(r"^a:([a-z0-9]{6,16}):([a-z]{2,8})$")


class StaleAction(CoachError):
    """The button is unknown, someone else's, expired or already used: say so, do nothing."""


@dataclass(frozen=True)
class Claimed:
    """An action the athlete just chose, now spent."""

    action_id: str
    kind: str
    payload: dict[str, Any]
    accepted: bool
    label: str
    choice: str


def create(
    athlete_id: int, kind: str, payload: dict[str, Any], expires_at: dt.datetime | None = None
) -> tuple[Button, ...]:
    """Store an action (sync, e.g. inside a push's transaction) and return its buttons.

    ``expires_at`` (naive UTC) lets a pushed message's buttons outlive the usual two hours.
    """
    action = PendingAction.create(
        athlete=athlete_id,
        kind=kind,
        payload=payload,
        expires_at=expires_at or utcnow() + TTLS.get(kind, TTL),
    )
    return tuple(Button(label, f"a:{action.id}:{choice}") for label, choice in CHOICES[kind])


async def offer(athlete_id: int, kind: str, payload: dict[str, Any]) -> tuple[Button, ...]:
    """Store an action and return its buttons."""
    return await db.call(create, athlete_id, kind, payload)


def parse(payload: str) -> tuple[str, str]:
    """Split a button payload into (action id, choice), or StaleAction."""
    match = _PAYLOAD.match(payload or "")
    if not match:
        raise StaleAction("That button isn't one I recognise. Please ask me again.")
    return match.group(1), match.group(2)


def _claim(athlete_id: int, action_id: str, choice: str) -> Claimed:
    now = utcnow()
    kind = PendingAction.select(PendingAction.kind).where(PendingAction.id == action_id).scalar()
    # An action's kind never changes, so this check also covers the claim below.
    labels = dict((c, label) for label, c in CHOICES[kind]) if kind is not None else {}
    if kind is not None and choice not in labels:
        raise StaleAction("That button isn't one I recognise. Please ask me again.")
    claimed = (
        PendingAction.update(used_at=now, choice=choice)
        .where(
            (PendingAction.id == action_id)
            & (PendingAction.athlete == athlete_id)
            & (PendingAction.used_at.is_null())
            & (PendingAction.expires_at > now)
        )
        .execute()
    )
    action = PendingAction.get_or_none(
        (PendingAction.id == action_id) & (PendingAction.athlete == athlete_id)
    )
    if action is None:
        raise StaleAction(NOT_YOURS)
    if not claimed:
        if action.used_at is not None:
            raise StaleAction("You already answered that one.")
        raise StaleAction("That button has expired. Please ask me again.")
    return Claimed(action_id, action.kind, dict(action.payload), choice == "yes", labels[choice], choice)


def _release(athlete_id: int, action_id: str) -> None:
    PendingAction.update(used_at=None, choice=None).where(
        (PendingAction.id == action_id) & (PendingAction.athlete == athlete_id)
    ).execute()


async def release(athlete_id: int, action_id: str) -> None:
    """Give back a claimed action whose press was refused (e.g. rate limited): its buttons work again."""
    await db.call(_release, athlete_id, action_id)


async def claim(athlete_id: int, payload: str) -> Claimed:
    """Spend the action behind a pressed button, once."""
    action_id, choice = parse(payload)
    return await db.call(_claim, athlete_id, action_id, choice)
