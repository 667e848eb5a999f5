"""Delivery bookkeeping for what the coach says on its own: exactly one push per athlete, kind and key.

A builder decides inside a transaction that a push is due and ``claim``s it: a
row unique on (athlete, kind, key), the key being the local date or the
activity id. A second claim of the same key, by any worker, pull or restart,
finds the row and gets None, so the message is never written twice. The
claim also sets when the push may go: at once, or at the end of the
athlete's quiet hours. A push about one day (a recovery alert, whose buttons
expire at midnight) that quiet hours would hold past its end is not claimed.

``take_due`` hands each due row to exactly one sender: a conditional UPDATE
marks it sent before the message leaves (at most once; a crash right after
loses that message rather than sending it twice). A push that reached no chat
at all is put back for a later try, up to three attempts. The due pushes of a
blocked athlete are given up, not sent after an unblock.

Urgency: the four kinds here (morning, after workout, recovery, weekly) are the
coach's own observations and all wait out quiet hours. Messages that answer the
athlete or that they must act on to keep their data (a plan preview from the
worker, a sync that failed for good, a refused API key) are not pushes of this
module: they go at once through the notifier (the worker's plan job,
``core/notices.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from peewee import IntegrityError

from core.clock import naive_utc, zone
from core.coaching import push_settings
from core.messages import Button, Reply
from storage import db
from storage.models import Athlete, ConversationTurn, Push

logger = logging.getLogger(__name__)

# A push whose text is still being written (the model's sentence) goes as it is after this long.
WRITE_GRACE = dt.timedelta(minutes=5)
BATCH = 200
# A push that reached no chat at all (every platform failed) is tried again, this often.
MAX_ATTEMPTS = 3
RETRY_AFTER = dt.timedelta(minutes=10)


@dataclass
class _Hooks:
    # Set by a bot process: have a worker deliver this athlete's due pushes now (e.g. after /sync).
    announce: Callable[[int], Awaitable[None]] | None = None


hooks = _Hooks()


@dataclass(frozen=True)
class Due:
    """A push taken for sending: its row, its athlete and the message."""

    push_id: int
    athlete_id: int
    kind: str
    reply: Reply


def release_at(prefs: push_settings.Prefs, timezone: str, now: dt.datetime) -> dt.datetime:
    """When a push decided at ``now`` may go: now, or when the quiet hours end (naive UTC)."""
    local = now.astimezone(zone(timezone))
    if not prefs.is_quiet(local.hour):
        return naive_utc(now)
    assert prefs.quiet is not None
    end = local.replace(hour=prefs.quiet[1], minute=0, second=0, microsecond=0)
    if end <= local:
        end = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(prefs.quiet[1]), local.tzinfo)
    return naive_utc(end)


def claim(
    athlete_id: int,
    kind: str,
    key: str,
    now: dt.datetime,
    *,
    text: str = "",
    ready: bool = True,
    expires: dt.datetime | None = None,
) -> Push | None:
    """The new push row for (athlete, kind, key), or None when that kind is off or it exists already.

    ``expires`` (aware): when the push stops making sense (its day is over, its buttons expire); a
    push that quiet hours would hold until then is not claimed either. Call inside the transaction
    that decided the push is due.
    """
    prefs = push_settings.read(athlete_id)
    if not prefs.allows(kind):
        return None
    if Push.select().where((Push.athlete == athlete_id) & (Push.kind == kind) & (Push.key == key)).exists():
        return None
    athlete = Athlete.select(Athlete.timezone, Athlete.blocked_at).where(Athlete.id == athlete_id).first()
    if athlete is None or athlete.blocked_at is not None:
        return None  # a blocked athlete hears nothing from the bot
    due_at = release_at(prefs, athlete.timezone, now)
    if expires is not None and due_at >= naive_utc(expires):
        return None
    fields = {
        "athlete": athlete_id,
        "kind": kind,
        "key": key[:64],
        "text": text,
        "ready": ready,
        "due_at": due_at,
    }
    try:
        # A savepoint: a concurrent claim of the same key (PostgreSQL waits for it) fails here alone.
        with db.transaction():
            return Push.create(**fields)
    except IntegrityError:
        return None


def fill(push_id: int, text: str, buttons: Sequence[Button] = ()) -> None:
    """Write the push's message and let it go."""
    Push.update(text=text, buttons=[[b.label, b.action] for b in buttons], ready=True).where(
        Push.id == push_id
    ).execute()


def _candidates(now: dt.datetime, athlete_id: int | None) -> list[Push]:
    query = Push.select().where(
        Push.sent_at.is_null()
        & (Push.due_at <= now)
        & (Push.ready | (Push.created_at < now - WRITE_GRACE))
        & (Push.text != "")
    )
    if athlete_id is not None:
        query = query.where(Push.athlete == athlete_id)
    return list(query.order_by(Push.due_at, Push.id).limit(BATCH))


def _drop_blocked(now: dt.datetime) -> None:
    # A blocked athlete hears nothing from the bot: what falls due meanwhile is given up, not kept
    # for after an unblock (nor tried again as if no chat had answered).
    blocked = Athlete.select(Athlete.id).where(Athlete.blocked_at.is_null(False))
    dropped = (
        Push.update(sent_at=now, delivered=0)
        .where(Push.sent_at.is_null() & (Push.due_at <= now) & Push.athlete.in_(blocked))
        .execute()
    )
    if dropped:
        logger.info("dropped %d due pushes of blocked athletes", dropped)


def _take(now: dt.datetime, athlete_id: int | None) -> list[Due]:
    _drop_blocked(now)
    taken = []
    for push in _candidates(now, athlete_id):
        # Several workers may see the same row; the first UPDATE wins, the others change nothing.
        taken_now = Push.update(sent_at=now, attempts=Push.attempts + 1)
        if taken_now.where((Push.id == push.id) & Push.sent_at.is_null()).execute():
            buttons = tuple(Button(label, action) for label, action in push.buttons or [])
            taken.append(Due(push.id, int(push.athlete_id), push.kind, Reply(push.text, buttons=buttons)))
    return taken


async def take_due(now: dt.datetime, athlete_id: int | None = None) -> list[Due]:
    """Due pushes (of one athlete, or everyone's), each handed to this caller only."""
    return await db.call(_take, naive_utc(now), athlete_id)


def _record(due: Due, delivered: int, now: dt.datetime) -> bool:
    if not delivered:
        # It reached nobody, so sending it again can't make a duplicate: try later, a few times.
        again = Push.update(sent_at=None, due_at=now + RETRY_AFTER).where(
            (Push.id == due.push_id) & (Push.attempts < MAX_ATTEMPTS)
        )
        if again.execute():
            return True
    with db.transaction():
        Push.update(delivered=delivered).where(Push.id == due.push_id).execute()
        if delivered:
            # In the history, so the model knows what the athlete answers when they reply to it.
            text = due.reply.text
            ConversationTurn.create(
                athlete=due.athlete_id, role="model", content={"role": "model", "parts": [{"text": text}]}
            )
    return False


async def record(due: Due, delivered: int, now: dt.datetime) -> None:
    """Note how many chats the push reached; one that reached none goes again later."""
    retry = await db.call(_record, due, delivered, naive_utc(now))
    if not delivered:
        logger.warning(
            "push %s (%s) reached no chat of athlete %s%s",
            due.push_id,
            due.kind,
            due.athlete_id,
            "; trying again later" if retry else "; giving up",
        )


async def announce(athlete_id: int) -> None:
    """Ask a worker to deliver this athlete's due pushes now; without one, the worker's pass finds them."""
    if hooks.announce is not None:
        await hooks.announce(athlete_id)
