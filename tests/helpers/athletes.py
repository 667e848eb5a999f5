"""Make athletes for tests, optionally linked to the fake Intervals.icu."""

from __future__ import annotations

from core.access import athletes
from tests.fakes.intervals import FakeIntervals


async def make_athlete(
    name: str,
    fake: FakeIntervals | None = None,
    *,
    remote_id: str = "i1001",
    key: str = "key-a-0123456789",
    timezone: str = "Europe/Berlin",
) -> int:
    """A new athlete (via a Telegram identity); linked to ``fake`` when given."""
    athlete_id = await athletes.identify("telegram", f"u-{name}", f"c-{name}", name=name, timezone=timezone)
    if fake is not None:
        fake.add_athlete(remote_id, key)
        await athletes.link(athlete_id, remote_id, key)
    return athlete_id
