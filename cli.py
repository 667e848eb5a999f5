"""The ``coach`` command: one entry point for every process of the Procfile."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

# Each command imports what it needs when it runs: google-genai alone takes two seconds to import,
# and `coach --help` or `coach athletes` should not pay for it.
if TYPE_CHECKING:
    from core.config import Settings


def open_storage(settings: Settings, *, need_secrets: bool = True, create: bool = True) -> list[str]:
    from core.runtime import open_storage as open_

    return open_(settings, need_secrets=need_secrets, create=create)


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    """Create or upgrade the schema; one line says what was done."""
    from core.config import masked_url
    from storage.migrate import MIGRATIONS_DIR

    applied = open_storage(settings, need_secrets=False)
    where = masked_url(settings.database_url)
    if not applied:
        print(f"Database {where} is up to date.")
    elif len(applied) == len(list(MIGRATIONS_DIR.glob("[0-9]*.py"))):
        print(f"Created the database {where} ({len(applied)} migration(s) applied).")
    else:
        print(f"Upgraded the database {where} ({len(applied)} migration(s) applied).")
    return 0


def cmd_init(settings: Settings, _: argparse.Namespace) -> int:
    """Write a new ENCRYPTION_KEY to .env, unless one is set or the database holds data encrypted with another."""
    import os

    from cryptography.fernet import Fernet

    from core.config import env_file
    from core.errors import StartupError
    from core.runtime import connect_storage, secrets_problem, sqlite_path

    if settings.encryption_key is not None:
        return 0
    sqlite = sqlite_path(settings)
    if sqlite is None or sqlite.exists():
        problem = secrets_problem(settings, connect_storage(settings, create=False))
        if problem:
            raise StartupError(problem)
    path = env_file()
    with path.open("a") as out:
        out.write(f"ENCRYPTION_KEY={Fernet.generate_key().decode()}\n")
    os.chmod(path, 0o600)
    print(f"Generated ENCRYPTION_KEY in {path}: keep that file private and backed up.")
    return 0


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    """Report the settings in use, the database, the key, Redis, the worker, the sync queue, what to set next."""
    from jobs.status import report

    checks = report(settings)
    healthy = all(c.ok for c in checks)
    if args.json:
        print(json.dumps({"ok": healthy, "checks": [c.__dict__ for c in checks]}, indent=2))
        return 0 if healthy else 1
    for check in checks:
        mark = "  " if check.ok else "! "
        label = "Next:" if check.name == "next" else f"{check.name}:"
        print(f"{mark}{label:<14}{check.says}")
    print("All is well." if healthy else "Something needs attention (lines marked !).")
    return 0 if healthy else 1


def _status_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON, for scripts")


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    """Talk to the coach in this terminal."""
    from bot.terminal import chat
    from core.runtime import build

    open_storage(settings)  # a lost .env is said first: it is what took the other keys with it
    settings.require("gemini_api_key")

    async def main() -> None:
        runtime = build(settings)
        try:
            await runtime.model.check()
            await chat(runtime.coach, args.name)
        finally:
            await runtime.aclose()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print(file=sys.stderr)  # end the prompt's line; leaving with Ctrl-C is no error worth a word
        return 130
    return 0


def _serve(settings: Settings, adapter: str) -> int:
    """Run a messenger adapter until SIGINT or SIGTERM."""
    import signal

    from bot.invalidation import shared_cache
    from bot.ops import serve
    from bot.turns import redis_turns
    from core.coaching import pushes
    from core.runtime import announce, build
    from core.sync import outbox as sync
    from jobs.enqueue import open_queue, plan_runner, push_announcer, retry_scheduler

    announce(settings)

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
    open_storage(settings)
    settings.require("telegram_bot_token", "gemini_api_key")
    return _serve(settings, "telegram")


def cmd_slack(settings: Settings, _: argparse.Namespace) -> int:
    """Run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP with signature checks)."""
    from core.errors import ConfigError

    open_storage(settings)
    settings.require("slack_bot_token", "gemini_api_key")
    if settings.slack_app_token is None and settings.slack_signing_secret is None:
        raise ConfigError(
            "Missing configuration: set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)."
        )
    return _serve(settings, "slack")


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Run the background worker: sync retries, plan generation, pulls, notices."""
    from arq import run_worker

    from jobs.enqueue import open_queue, redis_settings
    from jobs.worker import WorkerSettings

    open_storage(settings)  # a missing or wrong key stops here, before arq logs anything

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

    open_storage(settings, create=False)
    with database.connection_context():
        counts = rotate_secrets(database.obj)
    for table, rows in counts.items():
        print(f"{table}: {rows} row(s) re-encrypted")
    assert settings.encryption_key is not None
    if "," in settings.encryption_key.get_secret_value().strip(", "):
        print("Done. You can now remove the old key(s) after the first from ENCRYPTION_KEY.")
    else:
        print("Done. (To change keys: ENCRYPTION_KEY=new,old, then coach rotate-key again.)")
    return 0


def cmd_copy_db(settings: Settings, args: argparse.Namespace) -> int:
    """Copy all data from DATABASE_URL into an empty database at TARGET_URL (e.g. SQLite to PostgreSQL)."""
    from core.config import load_settings
    from core.errors import StartupError
    from core.runtime import connect_storage, secrets_problem
    from storage.copy import TargetNotEmpty, copy_database
    from storage.db import dispose

    source = connect_storage(settings, create=False)
    problem = secrets_problem(settings, source)
    if problem:
        raise StartupError(problem)
    target = connect_storage(load_settings(database_url=args.target))
    try:
        counts = copy_database(source, target)
    except TargetNotEmpty as exc:
        raise StartupError(f"{exc}; copy into a new, empty database.") from None
    finally:
        dispose(source)
        dispose(target)
    for table, rows in counts.items():
        print(f"{table}: {rows} row(s)")
    print("Copied. Point DATABASE_URL at the target and keep the same ENCRYPTION_KEY.")
    return 0


def _database_url(text: str) -> str:
    from core.config import database_url

    try:
        return database_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is no database URL: it {exc}") from None


def _copy_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", type=_database_url, help="the new database, e.g. postgresql://coach:secret@db:5432/coach"
    )


def _chat_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="name", help="who you are (default: your login name)")


def _when(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


def cmd_invite(settings: Settings, args: argparse.Namespace) -> int:
    """Create an invitation and print its code and Telegram link; or list or revoke invitations."""
    from core.access import admission as access
    from storage.db import database

    open_storage(settings, need_secrets=False, create=False)
    with database.connection_context():
        if args.list:
            print(f"{'id':>4}  {'state':<8} {'uses':>5}  expires (UTC)")
            for inv in access.invitations():
                uses = f"{inv.uses}/{inv.max_uses}"
                print(f"{inv.id:>4}  {access.state(inv):<8} {uses:>5}  {_when(inv.expires_at)}")
            return 0
        if args.revoke:
            if not access.revoke(args.revoke):
                print(
                    "coach: no open invitation has that id or code (see coach invite --list).",
                    file=sys.stderr,
                )
                return 1
            print("Revoked. Nobody can join with it any more.")
            return 0
        if args.first and (settings.access == "open" or access.anyone_on_a_messenger()):
            return 0  # scripts/run: only the owner's very first step needs an invitation
        code = access.create_invitation(args.uses, args.days, first_run=args.first)
    print(f"Invite code: {code}")
    link = None
    if settings.telegram_bot_token is not None:
        from telegram.error import TelegramError

        from bot.invite_link import deep_link

        token = settings.telegram_bot_token.get_secret_value()
        try:
            link = asyncio.run(deep_link(token, code, settings.telegram_api_base_url))
            print(f"Telegram link: {link}")
        except TelegramError as exc:
            print(f"(Couldn't ask Telegram for the bot's name: {exc}.)")
    plural = "s" if args.uses != 1 else ""
    how = f"open the link, or send /join {code}" if link else f"send /join {code} to the bot"
    print(f"Valid for {args.uses} use{plural} within {args.days:g} day(s). In Telegram: {how}.")
    return 0


def _positive(kind: type[int] | type[float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
        return value

    return parse


def _invite_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--uses", type=_positive(int), default=1, help="how many people may join with it (default 1)"
    )
    parser.add_argument("--days", type=_positive(float), default=7, help="days until it expires (default 7)")
    parser.add_argument("--list", action="store_true", help="list invitations instead")
    parser.add_argument(
        "--revoke", metavar="ID_OR_CODE", help="revoke an invitation by its id (--list) or code"
    )
    parser.add_argument("--first", action="store_true", help="only if nobody is admitted yet (scripts/run)")


def cmd_athletes(settings: Settings, _: argparse.Namespace) -> int:
    """List athletes: id, name, platforms, admitted since, their last message."""
    from core.access import admission as access
    from storage.db import database

    open_storage(settings, need_secrets=False, create=False)
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
    from core.access import admission as access
    from storage.db import database

    open_storage(settings, need_secrets=False, create=False)
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
    from core import actions
    from core.access import athletes, erase
    from core.errors import NotFound
    from storage import db

    open_storage(settings, create=False)

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
    str, Callable[["Settings", argparse.Namespace], int], Callable[[argparse.ArgumentParser], None] | None
]

COMMANDS: dict[str, Command] = {
    "init": ("Write a new ENCRYPTION_KEY to .env (refused over encrypted data)", cmd_init, None),
    "migrate": ("Create or upgrade the database schema", cmd_migrate, None),
    "status": (
        "Check the settings, database, key, Redis, worker and sync queue; say what to set next",
        cmd_status,
        _status_args,
    ),
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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("coach")
    except PackageNotFoundError:
        return "unknown (not installed)"


class _Version(argparse.Action):
    """--version, reading the installed package's metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(f"coach {_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """Argument parser with one subcommand per process."""
    parser = argparse.ArgumentParser(
        prog="coach",
        description="Coach: a training coach chat bot. Exit codes: 1 for a configuration or start-up "
        "problem, 2 for a usage error.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, _, configure) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if configure:
            configure(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, load settings and run the subcommand.

    Exit codes: 2 for a usage error (argparse's own), 1 for a configuration or start-up problem,
    each said in one line on stderr.
    """
    args = build_parser().parse_args(argv)
    from core.config import load_settings
    from core.errors import ConfigError, StartupError, ValidationError
    from core.logs import setup_logging

    try:
        settings = load_settings()
        setup_logging(settings.log_level, settings.log_format)
        return COMMANDS[args.command][1](settings, args)
    except (ConfigError, StartupError, ValidationError) as exc:
        print(f"coach: {exc.user_message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
