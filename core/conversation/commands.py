"""Slash commands, the same on every platform: /start /help /connect /plan /availability /sync /undo
/timezone /notify /daily /disconnect /forget (and /join, which is /start for someone already admitted)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from core import actions, clock
from core.access import athletes, erase
from core.clock import DAY_NAMES, day_of_week, today_in
from core.coaching import proactive, push_settings, pushes
from core.errors import CoachError, IntervalsError
from core.messages import Reply
from core.model.llm import Model
from core.planning import availability, blackouts, undo, workouts
from core.sync import outbox as sync
from core.sync import pull, resync
from core.sync.intervals import IntervalsPool
from storage import db

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """What commands use: the model and the Intervals.icu pool (the conversation hands in its own)."""

    model: Model | None
    pool: IntervalsPool


HELP = """\
I'm Coach, your training coach. I know your next 14 days of planned workouts, \
your weekly availability and your current plan, and I keep Intervals.icu in sync.

Just write, for example:
- "What's on Thursday?"
- "Move Tuesday's ride to Wednesday"
- "Add a 45 minute easy run on Saturday morning"
- "I can't train on Monday evenings anymore"
- "Plan my next week"
Voice notes and pictures work too (in Telegram and Slack).

Commands:
/connect ATHLETE_ID API_KEY - link Intervals.icu (Settings > Developer in Intervals.icu)
/plan - your next 14 days
/availability - your weekly availability, daily limits and unavailable dates
/sync - refresh from Intervals.icu, then what is waiting to sync, and retry it
/undo - take back the last change I made (plans and unavailable dates included), one at a time
/timezone ZONE - set your time zone, e.g. /timezone Europe/Berlin
/notify - what I tell you on my own (morning, after workouts, recovery, weekly review), quiet hours
/disconnect - unlink Intervals.icu and erase your key
/forget - erase everything I store about you
/help - this message"""

START = HELP.split("\n\n", 1)[1].split("\n\nCommands:")[0].replace("Just write", "Write")

SYNC_MARKS = {"synced": "✅", "pending": "⏳", "failed": "⚠️", "local": "📝"}
COMMANDS = (
    "start",
    "help",
    "connect",
    "plan",
    "availability",
    "sync",
    "undo",
    "timezone",
    "notify",
    "daily",
    "disconnect",
    "forget",
    "join",
)


async def _connect(services: Services, athlete_id: int, args: list[str]) -> Reply:
    if len(args) != 2:
        return Reply(
            "Use /connect ATHLETE_ID API_KEY. Both are in Intervals.icu under Settings > Developer.",
            delete_incoming=bool(args),
        )
    try:
        profile = await athletes.connect(services.pool, athlete_id, args[0], args[1])
    except IntervalsError as exc:
        return Reply(
            f"I couldn't check the key: {exc.user_message} Please try again later.", delete_incoming=True
        )
    except CoachError as exc:
        # The message still holds a key, right or wrong: it must go either way.
        return Reply(exc.user_message, delete_incoming=True)
    details = [f"time zone {profile.get('timezone', 'unchanged')}"]
    if profile.get("ftp"):
        details.append(f"FTP {profile['ftp']} W")
    name = profile.get("name") or "you"
    return Reply(
        f"Connected to Intervals.icu as {name} ({', '.join(details)}). "
        "Changes to your plan will now sync there.",
        delete_incoming=True,
    )


async def _plan(services: Services, athlete_id: int, _: list[str]) -> Reply:
    listed = await workouts.list_workouts(athlete_id)
    items = listed.data["workouts"]
    if not items:
        return Reply("Nothing planned for the next 14 days. Ask me to plan your week!")
    lines = ["Your next 14 days:"]
    for w in items:
        day = dt.date.fromisoformat(w["date"])
        facts = [w["type"]]
        if w["duration_minutes"]:
            facts.append(f"{w['duration_minutes']} min")
        if w["tss"] is not None:
            facts.append(f"TSS {w['tss']}")
        if w["time_of_day"]:
            facts.append(w["time_of_day"])
        mark = SYNC_MARKS.get(w["sync_status"], "")
        lines.append(
            f"{mark} {DAY_NAMES[day_of_week(day)][:3]} {w['date']}: {w['title']} ({', '.join(facts)})"
        )
    lines.append("\n✅ synced  ⏳ waiting to sync  ⚠️ sync failed  📝 local only")
    return Reply("\n".join(lines))


async def _availability(services: Services, athlete_id: int, _: list[str]) -> Reply:
    data = (await availability.get_availability(athlete_id)).data
    week, away = data["availability"], data["unavailable_dates"]
    lines = ["Your weekly availability:"]
    for day in week[1:] + week[:1]:  # Monday first reads naturally
        times, kit, extra = availability.describe(day)
        line = f"{day['day_name'][:3]}: {', '.join(times) or 'rest'}; {', '.join(kit) or 'no equipment'}"
        if extra:
            line += f"; {', '.join(extra)}"
        if day["notes"]:
            line += f" ({day['notes']})"
        lines.append(line)
    if away:
        lines.append("\nUnavailable:")
        lines.extend(f"- {blackouts.describe(b)}" for b in away)
    lines.append(
        '\nTell me what changed, e.g. "no gym on Fridays", "at most 45 minutes on Mondays" '
        'or "I\'m away from the 3rd to the 5th".'
    )
    return Reply("\n".join(lines))


async def _sync(services: Services, athlete_id: int, _: list[str]) -> Reply:
    athlete = await db.call(athletes.get, athlete_id)
    if not athlete.connected:
        return Reply("Intervals.icu is not connected. Use /connect ATHLETE_ID API_KEY to link it.")
    try:
        pulled = await pull.pull(services.pool, athlete_id)
        if await proactive.after_pull(services.model, athlete_id, clock.now()):
            await pushes.announce(athlete_id)
        fresh = f"Refreshed from Intervals.icu: {pulled.activities} activities, {pulled.updated} workout(s) updated there."
        if pulled.kept_local:
            fresh += " Changed in both places, kept yours: " + ", ".join(pulled.kept_local) + "."
    except IntervalsError as exc:
        fresh = f"Couldn't refresh from Intervals.icu: {exc.user_message}"
    counts = await db.call(resync.open_counts, athlete_id)
    if not counts["pending"] and not counts["failed"]:
        return Reply(f"{fresh}\nEverything is synced with Intervals.icu. ✅")
    text = f"{fresh}\n{counts['pending']} change(s) waiting to sync, {counts['failed']} failed."
    buttons = await actions.offer(athlete_id, "retry_sync", {})
    return Reply(text, buttons=buttons[:1])


async def retry_sync(services: Services, athlete_id: int) -> tuple[str, str | None]:
    """Retry every open change of the athlete now; the text says how it went."""
    outcomes = await resync.retry_athlete(services.pool, athlete_id)
    done = sum(1 for o in outcomes if o == "synced")
    if not outcomes:
        return "Nothing to retry: everything is synced.", None
    return f"Retried {len(outcomes)} change(s): {done} synced, {len(outcomes) - done} not yet.", sync.overall(
        outcomes
    )


async def _undo(services: Services, athlete_id: int, _: list[str]) -> Reply:
    text, buttons = await undo.offer(athlete_id)
    return Reply(text, buttons=buttons)


async def _timezone(services: Services, athlete_id: int, args: list[str]) -> Reply:
    if len(args) != 1:
        athlete = await db.call(athletes.get, athlete_id)
        return Reply(f"Your time zone is {athlete.timezone}. Change it with /timezone Europe/Berlin.")
    name = await athletes.set_timezone(athlete_id, args[0])
    return Reply(f"Time zone set to {name}. Today there is {today_in(name)}.")


async def _notify(services: Services, athlete_id: int, args: list[str]) -> Reply:
    return Reply(await push_settings.command(athlete_id, args))


async def _daily(services: Services, athlete_id: int, args: list[str]) -> Reply:
    # The older spelling of /notify morning on|off.
    return await _notify(services, athlete_id, ["morning", *args] if args else [])


async def _disconnect(services: Services, athlete_id: int, _: list[str]) -> Reply:
    await athletes.disconnect(athlete_id)
    return Reply("Intervals.icu is unlinked and your API key is erased. Your plan stays here.")


async def _forget(services: Services, athlete_id: int, _: list[str]) -> Reply:
    return await erase.ask(athlete_id)


async def _help(services: Services, athlete_id: int, _: list[str]) -> Reply:
    return Reply(HELP)


async def _start(services: Services, athlete_id: int, args: list[str]) -> Reply:
    greeting = "Welcome, you're in!" if args else "Hi!"  # with a code: the invitation just admitted them
    return Reply(
        f"{greeting} {START}\n\nTo sync with Intervals.icu, send /connect ATHLETE_ID API_KEY. /help lists everything."
    )


_HANDLERS = {
    "start": _start,
    "help": _help,
    "connect": _connect,
    "plan": _plan,
    "availability": _availability,
    "sync": _sync,
    "undo": _undo,
    "timezone": _timezone,
    "disconnect": _disconnect,
    "notify": _notify,
    "daily": _daily,
    "forget": _forget,
    "join": _start,  # the invitation was redeemed on the way in (core.access.admission)
}


async def run(services: Services, athlete_id: int, text: str) -> Reply:
    """Run a slash command; unknown ones get help."""
    head, *args = text.split()
    name = head.lstrip("/").split("@", 1)[0].lower()  # "/plan@CoachBot" in Telegram groups
    handler = _HANDLERS.get(name)
    if handler is None:
        return Reply(f"I don't know /{name[:30]}. " + HELP.split("\n\n")[-1])
    return await handler(services, athlete_id, args)
