"""Which messages the coach sends on its own, and when it keeps quiet: the /notify command.

Four kinds, each on by default: the morning message, after-workout notes,
recovery alerts and the weekly review. Quiet hours (default 22:00-07:00 in the
athlete's time zone, whole hours) hold them until the quiet hours end, which is
also when the morning message goes out (07:00 when quiet hours are off); what
would arrive after it is stale is dropped instead (core.coaching.pushes.claim's expiry).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from core.clock import zone
from core.errors import ValidationError
from storage import db
from storage.models import Athlete, PushSettings, utcnow

KINDS = ("morning", "after_workout", "recovery", "weekly")
LABELS = {
    "morning": "morning message with today's workouts",
    "after_workout": "a note after each workout",
    "recovery": "recovery alerts when a hard workout is planned",
    "weekly": "weekly review, Sunday 18:00",
}
_ALIASES = {
    "morning": "morning",
    "daily": "morning",
    "after": "after_workout",
    "afterworkout": "after_workout",
    "workout": "after_workout",
    "workouts": "after_workout",
    "recovery": "recovery",
    "weekly": "weekly",
    "review": "weekly",
}
MORNING_WITHOUT_QUIET = 7
_HOURS = re.compile(r"^(\d{1,2})(?::00)?-(\d{1,2})(?::00)?$")

USAGE = (
    "Change with /notify KIND on|off (KIND: morning, after, recovery, weekly), "
    "/notify quiet 22-7 or /notify quiet off."
)


@dataclass(frozen=True)
class Prefs:
    """An athlete's choices; an athlete who never changed anything gets the defaults."""

    enabled: frozenset[str] = frozenset(KINDS)
    quiet: tuple[int, int] | None = (22, 7)

    def allows(self, kind: str) -> bool:
        """Whether pushes of this kind are on."""
        return kind in self.enabled

    @property
    def morning_hour(self) -> int:
        """The local hour of the morning message: when quiet hours end."""
        return self.quiet[1] if self.quiet else MORNING_WITHOUT_QUIET

    def is_quiet(self, hour: int) -> bool:
        """Whether this local hour falls in the quiet hours."""
        if self.quiet is None:
            return False
        start, end = self.quiet
        return start <= hour < end if start < end else hour >= start or hour < end


def read(athlete_id: int) -> Prefs:
    """The athlete's settings (sync; call through db.call or inside a transaction)."""
    row = PushSettings.get_or_none(PushSettings.athlete == athlete_id)
    if row is None:
        return Prefs()
    quiet = (row.quiet_start, row.quiet_end) if row.quiet_start is not None else None
    return Prefs(frozenset(k for k in KINDS if getattr(row, k)), quiet)


def is_morning(athlete_id: int, now: dt.datetime) -> bool:
    """Whether ``now`` is the athlete's morning hour (sync; call through db.call)."""
    timezone = Athlete.select(Athlete.timezone).where(Athlete.id == athlete_id).scalar()
    return now.astimezone(zone(timezone)).hour == read(athlete_id).morning_hour


def _write(athlete_id: int, fields: dict[str, object]) -> Prefs:
    with db.transaction():
        row = PushSettings.get_or_none(PushSettings.athlete == athlete_id) or PushSettings(athlete=athlete_id)
        for key, value in fields.items():
            setattr(row, key, value)
        row.updated_at = utcnow()
        row.save()
        return read(athlete_id)


def kind_named(word: str) -> str:
    """The kind a word names ("after", "daily", ...), or ValidationError."""
    kind = _ALIASES.get(re.sub(r"[\s_-]+", "", word.lower()))
    if kind is None:
        raise ValidationError(f"I don't know the message kind {word[:20]!r}. {USAGE}")
    return kind


def parse_quiet(text: str) -> tuple[int, int] | None:
    """``22-7`` or ``22:00-07:00`` as (start, end) hours; ``off`` as None; else ValidationError."""
    if text.lower() in ("off", "none"):
        return None
    match = _HOURS.match(text.replace(" ", ""))
    if not match or not all(0 <= int(h) <= 23 for h in match.groups()):
        raise ValidationError(
            "Give quiet hours as whole hours, e.g. /notify quiet 22-7, or /notify quiet off."
        )
    start, end = int(match.group(1)), int(match.group(2))
    if start == end:
        raise ValidationError("Quiet hours need a different start and end; /notify quiet off turns them off.")
    return start, end


def describe(prefs: Prefs) -> str:
    """The /notify answer: each kind on or off, the quiet hours, how to change them."""
    lines = ["Messages I send on my own:"]
    for kind in KINDS:
        mark = "✅" if prefs.allows(kind) else "🔕"
        lines.append(f"{mark} {kind.replace('_', ' ')}: {LABELS[kind]}")
    if prefs.quiet:
        start, end = prefs.quiet
        lines.append(
            f"Quiet hours {start:02d}:00-{end:02d}:00 your time: these wait until {end:02d}:00, "
            "when the morning message goes out (a recovery alert that would arrive after its day "
            "is dropped, and a held weekly review comes without its button)."
        )
    else:
        lines.append(f"No quiet hours; the morning message goes out at {MORNING_WITHOUT_QUIET:02d}:00.")
    lines.append(USAGE)
    return "\n".join(lines)


async def command(athlete_id: int, args: list[str]) -> str:
    """Run ``/notify [KIND on|off | quiet HOURS|off]`` and say what is set now."""
    if not args:
        return describe(await db.call(read, athlete_id))
    if args[0].lower() == "quiet" and len(args) == 2:
        quiet = parse_quiet(args[1])
        start, end = quiet or (None, None)
        return describe(await db.call(_write, athlete_id, {"quiet_start": start, "quiet_end": end}))
    if len(args) != 2 or args[1].lower() not in ("on", "off"):
        raise ValidationError(USAGE)
    kind = kind_named(args[0])
    prefs = await db.call(_write, athlete_id, {kind: args[1].lower() == "on"})
    return describe(prefs)
