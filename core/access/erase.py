"""Erasing an athlete: every row of theirs, in every table, in one transaction.

The tables are found from the models (every foreign key to the athlete), so a table
added later is erased too without anyone remembering to list it here. Nothing is
deleted in Intervals.icu: what the athlete keeps there stays theirs.
"""

from __future__ import annotations

import contextlib
import logging

from peewee import ForeignKeyField, sort_models

from core import actions, cache
from core.access.admission import stranger_key
from core.messages import Reply
from core.metrics import ATHLETE_TOKENS
from storage import db
from storage.models import ALL_MODELS, Athlete, BaseModel, ChatIdentity, Stranger

logger = logging.getLogger(__name__)

ASK = (
    "This erases everything I store about you: our conversation and the messages I sent you, your "
    "planned workouts, availability and unavailable dates, plans, activities, wellness, nutrition, "
    "waiting syncs, your notification settings, the undo history, your Intervals.icu key and your chat "
    "accounts here. Nothing is deleted in Intervals.icu. It can't be undone."
)
DONE = (
    "Done: I erased everything I stored about you. Your data in Intervals.icu is untouched. "
    "Thank you for training with me."
)
KEPT = "OK, I kept everything."


def athlete_keys(model: type[BaseModel]) -> list[ForeignKeyField]:
    """The model's foreign keys to the athlete."""
    return [f for f in model._meta.sorted_fields if isinstance(f, ForeignKeyField) and f.rel_model is Athlete]


def _erase(athlete_id: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    with db.transaction():
        identities = list(ChatIdentity.select().where(ChatIdentity.athlete == athlete_id))
        keys = [stranger_key(i.platform, i.platform_user_id) for i in identities]
        # Dependents first, so no foreign key (plan <- workout) ever points at a deleted row.
        for model in reversed(sort_models(ALL_MODELS)):
            for field in athlete_keys(model):
                counts[model._meta.table_name] = model.delete().where(field == athlete_id).execute()
        # Their hashed identities, counted while they were strangers or blocked.
        if keys:
            counts["stranger"] = Stranger.delete().where(Stranger.key.in_(keys)).execute()
        counts["athlete"] = Athlete.delete().where(Athlete.id == athlete_id).execute()
    return counts


async def ask(athlete_id: int) -> Reply:
    """The question with its two buttons ("Erase everything" / "Keep")."""
    return Reply(ASK, buttons=await actions.offer(athlete_id, "erase_athlete", {}))


async def erase(athlete_id: int) -> dict[str, int]:
    """Delete every row of the athlete; returns rows deleted per table."""
    counts = await db.call(_erase, athlete_id)
    for kind in cache.TTL_SECONDS:
        cache.invalidate(kind, athlete_id)
    with contextlib.suppress(KeyError):  # their series goes with them
        ATHLETE_TOKENS.remove(str(athlete_id))
    logger.info("athlete %s erased: %s", athlete_id, counts)
    return counts


async def perform(athlete_id: int, accepted: bool) -> str:
    """What a press of the confirmation does."""
    if not accepted:
        return KEPT
    await erase(athlete_id)
    return DONE
