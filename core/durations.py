"""Durations as the athlete reads them, in every message: ``45 min``, ``1h05``."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """``45 min`` or ``1h05``."""
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}"
