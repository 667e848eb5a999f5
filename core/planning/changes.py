"""The change log: what each write through the bot changed, so it can be undone (core.planning.undo).

Services call ``record`` inside the write's transaction with what is needed to
put things back. An undo itself is not recorded (``paused``), so a second undo
goes one change further back instead of undoing the undo.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator
from typing import Any

from storage.models import ChangeLog, utcnow

WINDOW = dt.timedelta(hours=24)

_recording: contextvars.ContextVar[bool] = contextvars.ContextVar("recording_changes", default=True)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Writes in this block (and the threads it calls through db.call) are not recorded."""
    token = _recording.set(False)
    try:
        yield
    finally:
        _recording.reset(token)


def record(athlete_id: int, kind: str, summary: str, payload: dict[str, Any]) -> None:
    """Log a change (call inside its transaction)."""
    if _recording.get():
        ChangeLog.create(athlete=athlete_id, kind=kind, summary=summary[:300], payload=payload)


def latest(athlete_id: int) -> ChangeLog | None:
    """The newest change of the last 24 hours not undone yet (sync; call through db.call).

    The athlete's older entries are deleted here, off the write path: nothing can undo them.
    """
    ChangeLog.delete().where(
        (ChangeLog.athlete == athlete_id) & (ChangeLog.created_at < utcnow() - WINDOW)
    ).execute()
    return (
        ChangeLog.select()
        .where(
            (ChangeLog.athlete == athlete_id)
            & ChangeLog.undone_at.is_null()
            & (ChangeLog.created_at > utcnow() - WINDOW)
        )
        .order_by(ChangeLog.id.desc())
        .first()
    )
