"""Which Gemini models Google has announced it will shut down, and when.

Google retires Gemini models on dates it publishes ahead (ai.google.dev/gemini-api/docs/deprecations);
a retired name answers 404 NOT_FOUND on every call. The dates below are copied from that page; a
model retiring within WARN_BEFORE is worth one line at start and in ``coach status``.
"""

from __future__ import annotations

import datetime as dt

WARN_BEFORE = dt.timedelta(days=60)

# Source: ai.google.dev/gemini-api/docs/deprecations (shutdown dates and the replacements it names).
SHUTDOWNS: dict[str, tuple[dt.date, str]] = {
    "gemini-2.5-flash": (dt.date(2026, 6, 17), "gemini-3-flash-preview"),
    "gemini-1.5-flash": (dt.date(2025, 9, 24), "gemini-2.5-flash"),
    "gemini-1.5-pro": (dt.date(2025, 9, 24), "gemini-2.5-pro"),
}


def is_shut_down(model: str, today: dt.date) -> bool:
    """Whether Google's announced shutdown date for ``model`` has come."""
    known = SHUTDOWNS.get(model.removeprefix("models/"))
    return known is not None and today >= known[0]


def retirement_warning(model: str, today: dt.date) -> str | None:
    """One line when ``model`` is shut down or will be within WARN_BEFORE; None otherwise."""
    known = SHUTDOWNS.get(model.removeprefix("models/"))
    if known is None:
        return None
    day, replacement = known
    if is_shut_down(model, today):
        return f"GEMINI_MODEL={model} was shut down on {day:%Y-%m-%d}; set GEMINI_MODEL to a current model."
    if day - today <= WARN_BEFORE:
        return (
            f"GEMINI_MODEL={model} shuts down on {day:%Y-%m-%d} ({(day - today).days} days): "
            f"switch to a current model (Google names {replacement})."
        )
    return None
