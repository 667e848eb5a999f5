"""The ``coach`` command: one entry point for every process of the Procfile."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from core.config import Settings, load_settings
from core.errors import ConfigError, StartupError
from core.logs import setup_logging
from core.runtime import open_storage

logger = logging.getLogger("coach")


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    """Apply pending migrations and report what was done."""
    applied = open_storage(settings, need_secrets=False)
    print(f"Database is up to date ({len(applied)} migration(s) applied).")
    return 0


def _missing_for_processes(settings: Settings) -> list[str]:
    lines = []
    if settings.gemini_api_key is None:
        lines.append("set GEMINI_API_KEY to talk to the coach (coach chat, Telegram, Slack)")
    if settings.telegram_bot_token is None:
        lines.append("set TELEGRAM_BOT_TOKEN (from @BotFather) to run the Telegram bot")
    if settings.slack_bot_token is None or (
        settings.slack_signing_secret is None and settings.slack_app_token is None
    ):
        lines.append(
            "set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET "
            "(HTTP) to run the Slack bot"
        )
    return lines


def cmd_status(settings: Settings, _: argparse.Namespace) -> int:
    """Say what is configured and what to set next."""
    open_storage(settings, need_secrets=False)
    print(f"Database: {settings.database_url.split('@')[-1]} (schema up to date)")
    todo = _missing_for_processes(settings)
    if not todo:
        print("Everything is configured.")
    for line in todo:
        print(f"Next: {line}.")
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    """Talk to the coach in this terminal."""
    from bot.terminal import chat
    from core.runtime import build

    settings.require("gemini_api_key", "encryption_key")
    open_storage(settings)

    async def main() -> None:
        runtime = build(settings)
        try:
            await runtime.model.check()
            await chat(runtime.coach, args.name)
        finally:
            await runtime.aclose()

    asyncio.run(main())
    return 0


def _serve(settings: Settings, adapter: str) -> int:
    """Run a messenger adapter until SIGINT or SIGTERM."""
    import signal

    from bot.invalidation import shared_cache
    from bot.ops import serve
    from bot.turns import redis_turns
    from core import pushes, sync
    from core.runtime import build
    from jobs.enqueue import open_queue, plan_runner, push_announcer, retry_scheduler

    open_storage(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with contextlib.AsyncExitStack() as resources:
            queue = await open_queue(settings.redis_url)
            resources.push_async_callback(queue.aclose)
            runtime = build(
                settings,
                plan_runner=plan_runner(queue),
                # Several instances of this bot may run: keep each athlete's turns in order across them.
                locker=redis_turns(queue),
            )
            resources.push_async_callback(runtime.aclose)
            await runtime.model.check()
            sync.hooks.schedule_retry = retry_scheduler(queue)
            pushes.hooks.announce = push_announcer(queue)
            await resources.enter_async_context(shared_cache(queue))
            if settings.metrics_port is not None:
                ops = await serve(settings.metrics_port, queue)
                resources.push_async_callback(ops.cleanup)
            if adapter == "telegram":
                from bot import telegram

                await telegram.run(runtime.coach, settings, stop)
            else:
                from bot import slack

                await slack.run(runtime.coach, settings, stop)

    asyncio.run(main())
    return 0


def cmd_telegram(settings: Settings, _: argparse.Namespace) -> int:
    """Run the Telegram bot (long polling, or a webhook when TELEGRAM_WEBHOOK_URL is set)."""
    settings.require("telegram_bot_token", "gemini_api_key", "encryption_key")
    return _serve(settings, "telegram")


def cmd_slack(settings: Settings, _: argparse.Namespace) -> int:
    """Run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP with signature checks)."""
    settings.require("slack_bot_token", "gemini_api_key", "encryption_key")
    if settings.slack_app_token is None:
        settings.require("slack_signing_secret")
    return _serve(settings, "slack")


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Run the background worker: sync retries, plan generation, pulls, notices."""
    from arq import run_worker

    from jobs.enqueue import open_queue, redis_settings
    from jobs.worker import WorkerSettings

    settings.require("encryption_key")

    async def check_redis() -> None:
        # arq would retry an absent Redis for a while, logging each try, then raise a traceback.
        await (await open_queue(settings.redis_url)).aclose()

    asyncio.run(check_redis())
    run_worker(
        WorkerSettings,  # type: ignore[arg-type]
        redis_settings=redis_settings(settings.redis_url),
        burst=args.burst,
        ctx={"settings": settings},
    )
    return 0


def _worker_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")


def cmd_rotate_key(settings: Settings, _: argparse.Namespace) -> int:
    """Re-encrypt stored API keys and sync payloads with the first key of ENCRYPTION_KEY."""
    from storage.db import database
    from storage.rotate import rotate_secrets

    settings.require("encryption_key")
    open_storage(settings)
    with database.connection_context():
        counts = rotate_secrets(database.obj)
    for table, rows in counts.items():
        print(f"{table}: {rows} row(s) re-encrypted")
    print("Done. You can now remove the old key from ENCRYPTION_KEY.")
    return 0


def cmd_copy_db(settings: Settings, args: argparse.Namespace) -> int:
    """Copy all data from DATABASE_URL into an empty database at TARGET_URL (e.g. SQLite to PostgreSQL)."""
    from storage.copy import TargetNotEmpty, copy_database
    from storage.db import connect, dispose

    source, target = connect(settings.database_url), connect(args.target)
    try:
        counts = copy_database(source, target)
    except TargetNotEmpty as exc:
        print(f"coach: {exc}; copy into a new, empty database.", file=sys.stderr)
        return 1
    finally:
        dispose(source)
        dispose(target)
    for table, rows in counts.items():
        print(f"{table}: {rows} row(s)")
    print("Copied. Point DATABASE_URL at the target and keep the same ENCRYPTION_KEY.")
    return 0


def _copy_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="the new database, e.g. postgresql://coach:secret@db:5432/coach")


def _chat_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="name", help="who you are (default: your login name)")


def _when(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


def cmd_invite(settings: Settings, args: argparse.Namespace) -> int:
    """Create an invitation and print its code and Telegram link; or list or revoke invitations."""
    from core import access
    from storage.db import database

    open_storage(settings, need_secrets=False)
    with database.connection_context():
        if args.list:
            print(f"{'id':>4}  {'state':<8} {'uses':>5}  expires (UTC)")
            for inv in access.invitations():
                uses = f"{inv.uses}/{inv.max_uses}"
                print(f"{inv.id:>4}  {access.state(inv):<8} {uses:>5}  {_when(inv.expires_at)}")
            return 0
        if args.revoke:
            if not access.revoke(args.revoke):
                print("coach: no invitation has that code (or it is revoked already).", file=sys.stderr)
                return 1
            print("Revoked. Nobody can join with that code any more.")
            return 0
        if args.first and (settings.access == "open" or access.any_athlete()):
            return 0  # scripts/run: only the owner's very first step needs an invitation
        code = access.create_invitation(args.uses, args.days)
    print(f"Invite code: {code}")
    if settings.telegram_bot_token is not None:
        from telegram.error import TelegramError

        from bot.invite_link import deep_link

        token = settings.telegram_bot_token.get_secret_value()
        try:
            print(f"Telegram link: {asyncio.run(deep_link(token, code, settings.telegram_api_base_url))}")
        except TelegramError as exc:
            print(f"(Couldn't ask Telegram for the bot's name: {exc}. Send /join CODE to the bot instead.)")
    plural = "s" if args.uses != 1 else ""
    print(
        f"Valid for {args.uses} use{plural} within {args.days:g} day(s). In Telegram: open the link, or send /join {code}."
    )
    return 0


def _invite_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--uses", type=int, default=1, help="how many people may join with it (default 1)")
    parser.add_argument("--days", type=float, default=7, help="days until it expires (default 7)")
    parser.add_argument("--list", action="store_true", help="list invitations instead")
    parser.add_argument("--revoke", metavar="CODE", help="revoke the invitation with this code")
    parser.add_argument("--first", action="store_true", help="only if nobody is admitted yet (scripts/run)")


def cmd_athletes(settings: Settings, _: argparse.Namespace) -> int:
    """List athletes: id, name, platforms, admitted since, their last message."""
    from core import access
    from storage.db import database

    open_storage(settings, need_secrets=False)
    with database.connection_context():
        rows = access.athlete_rows()
    print(f"{'id':>4}  {'name':<20} {'platforms':<16} {'admitted (UTC)':<17} {'last message':<17} status")
    for r in rows:
        status = "blocked" if r.blocked else "ok"
        platforms = ",".join(r.platforms) or "-"
        print(
            f"{r.id:>4}  {r.name[:20]:<20} {platforms:<16} {_when(r.admitted_at):<17} "
            f"{_when(r.last_active):<17} {status}"
        )
    return 0


def _set_blocked(settings: Settings, athlete: int, blocked: bool) -> int:
    from core import access
    from storage.db import database

    open_storage(settings, need_secrets=False)
    with database.connection_context():
        if not access.set_blocked(athlete, blocked):
            print(f"coach: there is no athlete {athlete} (see coach athletes).", file=sys.stderr)
            return 1
    print(f"Athlete {athlete} {'blocked: the bot no longer answers them' if blocked else 'unblocked'}.")
    return 0


def cmd_block(settings: Settings, args: argparse.Namespace) -> int:
    """Stop answering an athlete (their data stays; coach unblock undoes it)."""
    return _set_blocked(settings, args.athlete, True)


def cmd_unblock(settings: Settings, args: argparse.Namespace) -> int:
    """Let a blocked athlete back in."""
    return _set_blocked(settings, args.athlete, False)


def cmd_forget(settings: Settings, args: argparse.Namespace) -> int:
    """Erase every row of an athlete, after confirmation (never anything in Intervals.icu)."""
    from core import actions, athletes, erase
    from core.errors import NotFound
    from storage import db

    open_storage(settings)

    async def main() -> int:
        try:
            athlete = await db.call(athletes.get, args.athlete)
        except NotFound:
            print(f"coach: there is no athlete {args.athlete} (see coach athletes).", file=sys.stderr)
            return 1
        asked = await erase.ask(athlete.id)  # the same single-use confirmation the chat shows
        print(
            f"Erase athlete {athlete.id} ({athlete.name or 'no name'})? Every row stored about them goes, "
            "in one transaction; nothing is deleted in Intervals.icu. This can't be undone."
        )
        print("  ".join(f"[{i}] {b.label}" for i, b in enumerate(asked.buttons, 1)))
        choice = "1" if args.yes else (await asyncio.to_thread(sys.stdin.readline)).strip()
        pick = asked.buttons[0] if choice == "1" else asked.buttons[1]
        claimed = await actions.claim(athlete.id, pick.action)
        if not claimed.accepted:
            print("Kept. Nothing was erased.")
            return 0
        counts = await erase.erase(athlete.id)
        print(f"Erased athlete {athlete.id}: {sum(counts.values())} row(s) in {len(counts)} table(s).")
        return 0

    return asyncio.run(main())


def _athlete_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("athlete", type=int, help="the athlete's id (see coach athletes)")


def _forget_args(parser: argparse.ArgumentParser) -> None:
    _athlete_arg(parser)
    parser.add_argument("--yes", action="store_true", help="erase without asking")


Command = tuple[
    str, Callable[[Settings, argparse.Namespace], int], Callable[[argparse.ArgumentParser], None] | None
]

COMMANDS: dict[str, Command] = {
    "migrate": ("Create or upgrade the database schema", cmd_migrate, None),
    "status": ("Show the configuration and what to set next", cmd_status, None),
    "chat": (
        "Chat with the coach in this terminal (needs GEMINI_API_KEY and ENCRYPTION_KEY)",
        cmd_chat,
        _chat_args,
    ),
    "telegram": ("Run the Telegram bot", cmd_telegram, None),
    "slack": ("Run the Slack bot", cmd_slack, None),
    "worker": ("Run the background worker (arq)", cmd_worker, _worker_args),
    "copy-db": ("Copy all data into a new database (SQLite to PostgreSQL)", cmd_copy_db, _copy_args),
    "rotate-key": ("Re-encrypt stored secrets with the first key in ENCRYPTION_KEY", cmd_rotate_key, None),
    "invite": ("Create an invitation (or --list, --revoke CODE)", cmd_invite, _invite_args),
    "athletes": ("List athletes", cmd_athletes, None),
    "block": ("Stop answering an athlete", cmd_block, _athlete_arg),
    "unblock": ("Let a blocked athlete back in", cmd_unblock, _athlete_arg),
    "forget": ("Erase everything stored about an athlete", cmd_forget, _forget_args),
}


def build_parser() -> argparse.ArgumentParser:
    """Argument parser with one subcommand per process."""
    parser = argparse.ArgumentParser(prog="coach", description="Coach: a training coach chat bot.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, _, configure) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if configure:
            configure(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, load settings and run the subcommand."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        setup_logging(settings.log_level, settings.log_format)
        return COMMANDS[args.command][1](settings, args)
    except ConfigError as exc:
        print(f"coach: {exc.user_message}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"coach: {exc.user_message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
