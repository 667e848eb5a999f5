"""The conversation history the model reads: what the athlete said and what the coach answered.

A turn saves its own messages. What reaches the athlete from outside a turn (the
worker's plan preview) is saved here once it reached a chat, so the model knows
what the athlete is answering when they reply to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.messages import Reply
from storage import db
from storage.models import ConversationTurn

# Sends a reply to every chat of an athlete; returns how many it reached (the worker's notifier).
Notify = Callable[[int, Reply], Awaitable[int]]


def save(athlete_id: int, role: str, text: str) -> None:
    """Append one message, ``user`` or ``model`` (sync; call through db.call)."""
    ConversationTurn.create(athlete=athlete_id, role=role, content={"role": role, "parts": [{"text": text}]})


async def send(notify: Notify, athlete_id: int, reply: Reply) -> int:
    """Send the coach's reply from outside a turn and, once it reached a chat, keep it in the history."""
    reached = await notify(athlete_id, reply)
    if reached:
        await db.call(save, athlete_id, "model", reply.text)
    return reached
