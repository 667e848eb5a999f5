"""The process's one clock.

Storage stamps rows with it and core reasons with it (``core.clock`` re-exports
it), so a test that sets ``hooks.now`` moves every check at once: an expiry
compared against the real clock while the row was stamped by a test's clock is
how a suite starts failing on a later date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Hooks:
    # Tests set a moment here; nothing else in the product reads the system clock for a date.
    now: Callable[[], dt.datetime] | None = None


hooks = _Hooks()


def now() -> dt.datetime:
    """The current moment, aware UTC."""
    return hooks.now() if hooks.now is not None else dt.datetime.now(dt.UTC)


def utcnow() -> dt.datetime:
    """Naive UTC now, the form every timestamp column stores."""
    return now().replace(tzinfo=None)
