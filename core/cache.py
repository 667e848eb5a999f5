"""A small per-process cache for data that rarely changes (availability, the current plan).

Writers call ``invalidate`` after their transaction commits. A load that began
before an invalidation is not stored (generation check), so a reader can never
put a value older than the last write back into the cache. Other processes
learn of a write through ``hooks.publish`` (Redis pub/sub in the bot and worker).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

TTL_SECONDS = {"availability": 300.0, "plan": 300.0}


@dataclass
class _Hooks:
    publish: Callable[[str, int], None] | None = None


hooks = _Hooks()
_lock = threading.Lock()
_entries: dict[tuple[str, int], tuple[float, Any]] = {}
_generation: dict[tuple[str, int], int] = {}


def get(kind: str, athlete_id: int, load: Callable[[], T]) -> T:
    """The cached value, or ``load()`` (stored unless a write happened meanwhile)."""
    key = (kind, athlete_id)
    now = time.monotonic()
    with _lock:
        hit = _entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[no-any-return]
        generation = _generation.get(key, 0)
    value = load()
    with _lock:
        if _generation.get(key, 0) == generation:
            _entries[key] = (now + TTL_SECONDS[kind], value)
    return value


def forget(kind: str, athlete_id: int) -> None:
    """Drop a cached value in this process only (used for others' invalidations)."""
    key = (kind, athlete_id)
    with _lock:
        _entries.pop(key, None)
        _generation[key] = _generation.get(key, 0) + 1


def invalidate(kind: str, athlete_id: int) -> None:
    """A write changed this data: drop it here and tell the other processes."""
    forget(kind, athlete_id)
    if hooks.publish is not None:
        hooks.publish(kind, athlete_id)


def clear() -> None:
    """Forget everything (tests, and a process that lost its invalidation feed)."""
    with _lock:
        _entries.clear()
        for key in _generation:
            _generation[key] += 1
