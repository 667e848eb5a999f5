"""Athletes and their chat identities, and the Intervals.icu link."""

from __future__ import annotations

import logging

from core.clock import zone
from core.errors import NotFound, ValidationError
from storage import db
from storage.models import Athlete, ChatIdentity, utcnow

logger = logging.getLogger(__name__)


def _identify(platform: str, user_id: str, chat_id: str, name: str, timezone: str) -> int:
    with db.database.atomic():
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


def _connect(athlete_id: int, intervals_id: str, api_key: str) -> None:
    updated = (
        Athlete.update(
            intervals_athlete_id=intervals_id, intervals_api_key=api_key, updated_at=utcnow()
        )
        .where(Athlete.id == athlete_id)
        .execute()
    )
    if not updated:
        raise NotFound("Athlete not found.")


async def connect(athlete_id: int, intervals_id: str, api_key: str) -> None:
    """Store the Intervals.icu athlete id and (encrypted) API key."""
    intervals_id = intervals_id.strip()
    if not (intervals_id == "0" or (intervals_id[:1] == "i" and intervals_id[1:].isdigit())):
        raise ValidationError("The Intervals.icu athlete id looks like i12345 (see Settings).")
    if not (8 <= len(api_key.strip()) <= 128):
        raise ValidationError("That does not look like an Intervals.icu API key.")
    await db.call(_connect, athlete_id, intervals_id, api_key.strip())


async def disconnect(athlete_id: int) -> None:
    """Unlink Intervals.icu and erase the stored key."""
    await db.call(
        lambda: Athlete.update(intervals_athlete_id=None, intervals_api_key=None, updated_at=utcnow())
        .where(Athlete.id == athlete_id)
        .execute()
    )
