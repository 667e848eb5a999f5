"""Plan-generation state for tests."""

from __future__ import annotations

from typing import Any

from storage.models import PendingAction, utcnow

# An hour of sweet spot: warm-up ramp, 3x (10 min at 90 %, 5 min easy), cool-down.
SWEET_SPOT: list[dict[str, Any]] = [
    {"kind": "warmup", "minutes": 10, "power_percent": 50, "power_percent_end": 70},
    {
        "kind": "repeat",
        "repeat": 3,
        "steps": [
            {"kind": "interval", "minutes": 10, "power_percent": 90},
            {"kind": "recovery", "minutes": 5, "power_percent": 55},
        ],
    },
    {"kind": "cooldown", "minutes": 5, "power_percent": 50},
]


def generations_used(athlete_id: int, count: int) -> None:
    """Record ``count`` confirmed plan generations in the last hour, as the rate limit counts them."""
    for _ in range(count):
        PendingAction.create(
            athlete=athlete_id,
            kind="generate_plan",
            payload={},
            expires_at=utcnow(),
            used_at=utcnow(),
            choice="yes",
        )
