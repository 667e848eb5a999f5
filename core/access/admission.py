"""Who may talk to the coach: invitations, admission on first contact, strangers, blocked athletes.

With ACCESS=invite a Telegram user becomes an athlete only through an invitation code
(``/start CODE`` from the deep link, or ``/join CODE``), in a private chat: Telegram
groups are told, once an hour per person, to write privately. Slack admits the members of the
workspace the app is installed in (optionally only SLACK_ALLOWED_TEAMS); the terminal of
``coach chat`` is the operator's own. Everyone else is a stranger: no athlete row, no
model call, one counter row keyed by a hash of who they are, and at most one reply an
hour, decided by a conditional UPDATE so it holds across bot instances.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass

from peewee import fn

from core import actions
from core.access import athletes, budgets
from core.config import Settings
from core.errors import ValidationError
from core.messages import Incoming, Reply
from core.metrics import TURNS_REFUSED
from storage import db
from storage.models import Athlete, ChatIdentity, ConversationTurn, Invitation, Stranger, utcnow

logger = logging.getLogger(__name__)

CODE_BYTES = 12  # 96 random bits; URL-safe, so it fits Telegram's deep-link start parameter
ANSWER_EVERY = dt.timedelta(hours=1)
# A stranger silent this long is forgotten, so their rows stay few however many come by.
FORGET_STRANGERS_AFTER = dt.timedelta(days=30)

PRIVATE = (
    "This is a private coach. To use it you need an invitation from its owner: "
    "open their invitation link, or send /join CODE with the code they gave you."
)
# One text for guessed, expired, revoked and used-up codes, so a refusal tells nothing about the code.
BAD_CODE = "That invitation code isn't valid. Ask the coach's owner for a new invitation."
NOT_FOR_TEAM = "This coach isn't open to your Slack workspace. Ask the app's owner to add it."
BLOCKED = "The owner of this coach has paused your access."
PRIVATE_CHATS = "I only coach in private chats: please write to me directly."

_CODE_COMMAND = re.compile(r"^/(?:start|join)(?:@\w+)?\s+([A-Za-z0-9_-]{1,64})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Access:
    """The admission policy of one bot process."""

    mode: str = "invite"  # "invite" or "open"
    slack_teams: frozenset[str] = frozenset()  # empty: every workspace the app is installed in

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        """ACCESS and SLACK_ALLOWED_TEAMS."""
        return cls(mode=settings.access, slack_teams=settings.allowed_teams)


@dataclass(frozen=True)
class Verdict:
    """Who is writing: an admitted athlete, or a refusal (``reply`` None: already told this hour)."""

    athlete_id: int | None
    reply: Reply | None = None


def hash_code(code: str) -> str:
    """What is stored of an invitation code."""
    return hashlib.sha256(code.encode()).hexdigest()


def stranger_key(platform: str, user_id: str) -> str:
    """What is stored of a stranger: a hash of who they are on which platform."""
    return hashlib.sha256(f"{platform}:{user_id}".encode()).hexdigest()


def invitation_code(text: str | None) -> str | None:
    """The code in ``/start CODE`` or ``/join CODE``, else None."""
    match = _CODE_COMMAND.match((text or "").strip())
    return match.group(1) if match else None


def _admitted_on_contact(access: Access, incoming: Incoming) -> bool:
    if incoming.platform == "terminal":
        return True  # coach chat runs on the operator's machine with the operator's settings
    if incoming.platform == "slack":
        # The installation is the invitation; SLACK_ALLOWED_TEAMS narrows it for a distributed app.
        return not access.slack_teams or incoming.team in access.slack_teams
    return access.mode == "open"


def _known(platform: str, user_id: str) -> tuple[int, str, bool] | None:
    row = (
        ChatIdentity.select(ChatIdentity.athlete, ChatIdentity.chat_id, Athlete.blocked_at)
        .join(Athlete)
        .where((ChatIdentity.platform == platform) & (ChatIdentity.platform_user_id == user_id))
        .tuples()
        .first()
    )
    return None if row is None else (int(row[0]), str(row[1]), row[2] is not None)


def _redeem(code_hash: str) -> bool:
    now = utcnow()
    used = (
        Invitation.update(uses=Invitation.uses + 1)
        .where(
            (Invitation.code_hash == code_hash)
            & Invitation.revoked_at.is_null()
            & (Invitation.expires_at > now)
            & (Invitation.uses < Invitation.max_uses)
        )
        .execute()
    )
    return bool(used)


def _note_stranger(key: str) -> bool:
    """Count one message; True when it should be answered (first in an hour)."""
    now = utcnow()
    with db.transaction():
        Stranger.insert(key=key, messages=1, last_seen_at=now).on_conflict(
            conflict_target=[Stranger.key],
            update={Stranger.messages: Stranger.messages + 1, Stranger.last_seen_at: now},
        ).execute()
        answer = (
            Stranger.update(answered_at=now)
            .where(
                (Stranger.key == key)
                & (Stranger.answered_at.is_null() | (Stranger.answered_at <= now - ANSWER_EVERY))
            )
            .execute()
        )
        if answer:
            Stranger.delete().where(Stranger.last_seen_at < now - FORGET_STRANGERS_AFTER).execute()
    return bool(answer)


def _forget_stranger(key: str) -> None:
    Stranger.delete().where(Stranger.key == key).execute()


async def _refuse(incoming: Incoming, text: str, reason: str) -> Verdict:
    TURNS_REFUSED.labels(reason).inc()
    answer = await db.call(_note_stranger, stranger_key(incoming.platform, incoming.user_id))
    logger.info("refused a %s message: %s (answered: %s)", incoming.platform, reason, answer)
    return Verdict(None, Reply(text) if answer else None)


async def admit(access: Access, incoming: Incoming) -> Verdict:
    """The athlete behind ``incoming`` (created when admitted now), or the refusal to send."""
    if not incoming.private:
        # A group would see the athlete's training, and their chat (where pushes go) would move there.
        return await _refuse(incoming, PRIVATE_CHATS, "group")
    known = await db.call(_known, incoming.platform, incoming.user_id)
    if known is not None:
        athlete_id, chat_id, blocked = known
        if blocked:
            return await _refuse(incoming, BLOCKED, "blocked")
        if chat_id == incoming.chat_id:
            return Verdict(athlete_id)
    elif incoming.action is not None:
        # No button can be theirs (an erased athlete's old one, say): pressing it must not make them an athlete.
        logger.info("refused a %s button press from someone who is no athlete", incoming.platform)
        return Verdict(None, budgets.refused("unknown_press", actions.NOT_YOURS))
    elif not _admitted_on_contact(access, incoming):
        if incoming.platform == "slack":
            # On Slack the workspace decides: an invitation code must not open a door the team list closes.
            return await _refuse(incoming, NOT_FOR_TEAM, "stranger")
        code = invitation_code(incoming.text)
        if code is None:
            return await _refuse(incoming, PRIVATE, "stranger")
        if not await db.call(_redeem, hash_code(code)):
            return await _refuse(incoming, BAD_CODE, "bad_code")
        await db.call(_forget_stranger, stranger_key(incoming.platform, incoming.user_id))
        logger.info("a %s user redeemed an invitation", incoming.platform)
    athlete_id = await athletes.identify(
        incoming.platform, incoming.user_id, incoming.chat_id, name=incoming.user_name
    )
    return Verdict(athlete_id)


# -- the operator's side (coach invite, coach athletes, coach block) ---------------------------


def create_invitation(uses: int = 1, days: float = 7, *, first_run: bool = False) -> str:
    """A new invitation; returns the code, which is shown now and never stored.

    ``first_run`` (scripts/run, while nobody is admitted) revokes the earlier first-run invitation:
    its code can't be shown again, so each run prints a new one and only the newest works.
    """
    if uses < 1 or days <= 0:
        raise ValidationError("An invitation needs at least one use and a life of more than 0 days.")
    code = secrets.token_urlsafe(CODE_BYTES)
    with db.transaction():
        if first_run:
            Invitation.update(revoked_at=utcnow()).where(
                Invitation.first_run & Invitation.revoked_at.is_null()
            ).execute()
        Invitation.create(
            code_hash=hash_code(code),
            max_uses=uses,
            expires_at=utcnow() + dt.timedelta(days=days),
            first_run=first_run,
        )
    return code


def invitations() -> list[Invitation]:
    """Every invitation, newest first."""
    return list(Invitation.select().order_by(Invitation.id.desc()))


def state(invitation: Invitation, now: dt.datetime | None = None) -> str:
    """open, used up, expired or revoked."""
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.uses >= invitation.max_uses:
        return "used up"
    return "expired" if invitation.expires_at <= (now or utcnow()) else "open"


def revoke(code_or_id: str) -> bool:
    """Revoke an invitation by its code or by the id ``coach invite --list`` shows; False when none is open."""
    text = code_or_id.strip()
    which = Invitation.code_hash == hash_code(text)
    if text.isdigit():
        which |= Invitation.id == int(text)
    return bool(
        Invitation.update(revoked_at=utcnow()).where(which & Invitation.revoked_at.is_null()).execute()
    )


@dataclass(frozen=True)
class AthleteRow:
    """One line of ``coach athletes``."""

    id: int
    name: str
    platforms: tuple[str, ...]
    admitted_at: dt.datetime
    last_active: dt.datetime | None
    blocked: bool


def athlete_rows() -> list[AthleteRow]:
    """Every athlete with their platforms and when they last wrote."""
    # Only their own messages: the coach's pushes and answers are stored as turns too.
    last = dict(
        ConversationTurn.select(ConversationTurn.athlete, fn.MAX(ConversationTurn.created_at))
        .where(ConversationTurn.role == "user")
        .group_by(ConversationTurn.athlete)
        .tuples()
    )
    platforms: dict[int, list[str]] = {}
    for athlete_id, platform in ChatIdentity.select(ChatIdentity.athlete, ChatIdentity.platform).tuples():
        platforms.setdefault(athlete_id, []).append(platform)
    return [
        AthleteRow(
            a.id,
            a.name,
            tuple(sorted(set(platforms.get(a.id, [])))),
            a.admitted_at or a.created_at,
            last.get(a.id),
            a.blocked_at is not None,
        )
        for a in Athlete.select().order_by(Athlete.id)
    ]


def anyone_on_a_messenger() -> bool:
    """Whether anyone is admitted on Telegram or Slack yet (the terminal's own user doesn't count)."""
    return ChatIdentity.select().where(ChatIdentity.platform != "terminal").exists()


def set_blocked(athlete_id: int, blocked: bool) -> bool:
    """Block or unblock an athlete; False when there is no such athlete."""
    return bool(
        Athlete.update(blocked_at=utcnow() if blocked else None, updated_at=utcnow())
        .where(Athlete.id == athlete_id)
        .execute()
    )
