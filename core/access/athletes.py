"""Athletes and their chat identities, and the Intervals.icu link."""

from __future__ import annotations

import logging
from typing import Any

from peewee import IntegrityError

from core.clock import zone
from core.errors import IntervalsAuthError, NotFound, ValidationError
from core.sync.intervals import IntervalsPool
from storage import db
from storage.models import Athlete, ChatIdentity, utcnow

logger = logging.getLogger(__name__)


def _identify(platform: str, user_id: str, chat_id: str, name: str, timezone: str) -> int:
    # Every message passes here: a known chat is a plain read, no write lock.
    known = ChatIdentity.get_or_none(
        (ChatIdentity.platform == platform) & (ChatIdentity.platform_user_id == user_id)
    )
    if known is not None and known.chat_id == chat_id:
        return int(known.athlete_id)
    try:
        return _identify_once(platform, user_id, chat_id, name, timezone)
    except IntegrityError:
        # Two first messages raced to create the athlete; the other one won.
        return _identify_once(platform, user_id, chat_id, name, timezone)


def _identify_once(platform: str, user_id: str, chat_id: str, name: str, timezone: str) -> int:
    with db.transaction():
        ident = ChatIdentity.get_or_none(
            (ChatIdentity.platform == platform) & (ChatIdentity.platform_user_id == user_id)
        )
        if ident is not None:
            if ident.chat_id != chat_id:
                ident.chat_id = chat_id
                ident.save()
            return int(ident.athlete_id)
        athlete = Athlete.create(name=name[:200], timezone=timezone)
        ChatIdentity.create(athlete=athlete, platform=platform, platform_user_id=user_id, chat_id=chat_id)
        logger.info("new athlete %s from %s", athlete.id, platform)
        return int(athlete.id)


async def identify(
    platform: str, user_id: str, chat_id: str, *, name: str = "", timezone: str = "UTC"
) -> int:
    """The athlete behind a chat identity, created on first contact."""
    zone(timezone)
    return await db.call(_identify, platform, user_id, chat_id, name, timezone)


def _link(athlete_id: int, intervals_id: str, api_key: str, profile: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "intervals_athlete_id": intervals_id,
        "intervals_api_key": api_key,
        "key_rejected_at": None,
        "key_notified_at": None,
        "updated_at": utcnow(),
    }
    fields.update(profile)
    if not Athlete.update(**fields).where(Athlete.id == athlete_id).execute():
        raise NotFound("Athlete not found.")


def _check_format(intervals_id: str, api_key: str) -> None:
    if not (intervals_id == "0" or (intervals_id[:1] == "i" and intervals_id[1:].isdigit())):
        raise ValidationError("The Intervals.icu athlete id looks like i12345 (Settings, Developer).")
    if not (8 <= len(api_key) <= 128) or any(c.isspace() for c in api_key):
        raise ValidationError("That does not look like an Intervals.icu API key.")


async def link(athlete_id: int, intervals_id: str, api_key: str, **profile: Any) -> None:
    """Store the Intervals.icu athlete id and (encrypted) key without asking Intervals.icu."""
    _check_format(intervals_id, api_key)
    await db.call(_link, athlete_id, intervals_id, api_key, profile)


def _profile_fields(profile: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if profile.get("name"):
        out["name"] = str(profile["name"])[:200]
    tz = profile.get("timezone")
    if isinstance(tz, str):
        try:
            zone(tz)
            out["timezone"] = tz
        except ValidationError:
            logger.info("ignoring unknown time zone from Intervals.icu profile")
    for sport in profile.get("sportSettings") or []:
        if "Ride" in (sport.get("types") or []) and sport.get("ftp"):
            out["ftp"] = int(sport["ftp"])
    return out


async def connect(pool: IntervalsPool, athlete_id: int, intervals_id: str, api_key: str) -> dict[str, Any]:
    """Check the key against Intervals.icu, then store it with the profile's name, zone and FTP."""
    intervals_id, api_key = intervals_id.strip(), api_key.strip()
    _check_format(intervals_id, api_key)
    try:
        profile = await pool.client(intervals_id, api_key).get_profile()
    except IntervalsAuthError:
        raise ValidationError(
            "Intervals.icu refused that athlete id and API key; check both under Settings, Developer."
        ) from None
    fields = _profile_fields(profile)
    remote_id = str(profile.get("id") or intervals_id)
    await db.call(_link, athlete_id, remote_id, api_key, fields)
    logger.info("athlete %s connected to Intervals.icu", athlete_id)
    return {"intervals_athlete_id": remote_id, **fields}


def _unlink(athlete_id: int) -> None:
    Athlete.update(intervals_athlete_id=None, intervals_api_key=None, updated_at=utcnow()).where(
        Athlete.id == athlete_id
    ).execute()


async def disconnect(athlete_id: int) -> None:
    """Unlink Intervals.icu and erase the stored key."""
    await db.call(_unlink, athlete_id)


def _set_timezone(athlete_id: int, name: str) -> None:
    Athlete.update(timezone=name, updated_at=utcnow()).where(Athlete.id == athlete_id).execute()


async def set_timezone(athlete_id: int, name: str) -> str:
    """Override the athlete's time zone (IANA name)."""
    zone(name)
    await db.call(_set_timezone, athlete_id, name)
    return name


def get(athlete_id: int) -> Athlete:
    """The athlete row (sync; call through db.call)."""
    athlete = Athlete.get_or_none(Athlete.id == athlete_id)
    if athlete is None:
        raise NotFound("Athlete not found.")
    return athlete


def identities(athlete_id: int) -> list[tuple[str, str]]:
    """(platform, chat id) of every chat the athlete uses (sync; call through db.call).

    None for a blocked athlete: the operator shut them out, so nothing is pushed to them either.
    """
    query = (
        ChatIdentity.select()
        .join(Athlete)
        .where((ChatIdentity.athlete == athlete_id) & Athlete.blocked_at.is_null())
        .order_by(ChatIdentity.id)
    )
    return [(i.platform, i.chat_id) for i in query]
