"""Benchmark 5: peak memory (max RSS) of the real processes, each run as a child of its own.

``coach worker --burst`` drains queued items against the fake Intervals.icu through
a throwaway Redis; ``coach chat`` answers ~20 piped lines against the fake Gemini
(the stand-in for a bot process); ``coach telegram`` long-polls the fake Telegram
for ~10 s, answers a few pushed messages, then gets SIGTERM. Each is started by the
small ``bench/rss.py`` helper, which reaps it with ``os.wait4``: the kernel's max RSS
for exactly that process (started straight from this big process, a child would
inherit our size as its floor).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import ENCRYPTION_KEY, BenchEnv, Section, Stopwatch, Target, bench_database
from bench.drain import queue_creates
from bench.seed import seed_athlete
from core.access import athletes
from core.config import Settings
from storage import db
from storage.models import PlannedWorkout
from tests.fakes.gemini import FakeGemini, text
from tests.fakes.telegram import FakeTelegram

TARGET = Target("<", 150, "MB")
CHAT_LINES = 20
QUESTIONS = (
    "What is on Thursday?",
    "How was my week?",
    "/plan",
    "Am I rested enough for intervals?",
    "/help",
)
TELEGRAM_SECONDS = 10.0
TELEGRAM_MESSAGES = 4
CHAT_ID = 5151
WORKER_ATHLETES = 20
WORKER_ITEMS_EACH = 50


@dataclass(frozen=True)
class Child:
    """How a child ended: peak RSS in MB (10^6 bytes), exit code, seconds alive, output tail, helper floor."""

    peak_mb: float
    code: int
    seconds: float
    tail: str
    floor_mb: float


def _coach() -> list[str]:
    script = Path(sys.executable).parent / "coach"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli"]


def _environ(database: Path, **settings: str) -> dict[str, str]:
    """This environment without any Coach setting, plus the database, key and the given settings."""
    ours = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env.update(DATABASE_URL=f"sqlite:///{database}", ENCRYPTION_KEY=ENCRYPTION_KEY, LOG_LEVEL="WARNING")
    env.update({k.upper(): v for k, v in settings.items()})
    return env


class Process:
    """One ``coach`` child, started through the small ``bench/rss.py`` helper, output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, stdin: Path | None = None) -> None:
        self.log = cwd / f"{args[0]}.log"
        self.result = cwd / f"{args[0]}.rss.json"
        self.started = time.monotonic()
        helper = [sys.executable, str(Path(__file__).with_name("rss.py")), str(self.result)]
        with open(self.log, "wb") as out, open(stdin or os.devnull, "rb") as feed:
            self.proc = subprocess.Popen(
                [*helper, *_coach(), *args],
                stdin=feed,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )

    def stop(self) -> None:
        """SIGTERM, passed on by the helper."""
        self.proc.send_signal(signal.SIGTERM)

    def reap(self, timeout: float = 120.0) -> Child:
        """Wait for the child (killed after ``timeout``) and read the peak the helper measured."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the helper's own session: it and the coach child
            self.proc.wait()
        seconds = time.monotonic() - self.started
        tail = self.log.read_text(errors="replace")[-300:].strip()
        if not self.result.exists():
            return Child(float("nan"), self.proc.returncode, seconds, tail, 0.0)
        measured = json.loads(self.result.read_text())
        kib = 1024 / 1e6
        return Child(
            measured["maxrss_kib"] * kib, measured["code"], seconds, tail, measured["floor_kib"] * kib
        )


def telegram_process(
    env: BenchEnv, telegram: FakeTelegram, gemini: FakeGemini, database: Path, cwd: Path
) -> Process:
    """``coach telegram`` long-polling the fake Telegram, with its own SQLite file and the run's Redis."""
    assert env.redis_url is not None, "coach telegram needs Redis"
    settings = {
        "telegram_bot_token": telegram.token,
        "telegram_api_base_url": telegram.url,
        "gemini_api_key": gemini.api_key,
        "gemini_base_url": gemini.url,
        "intervals_base_url": env.intervals.url,
        "redis_url": env.redis_url,
    }
    return Process(["telegram"], _environ(database, **settings), cwd)


def _synced() -> int:
    return int(PlannedWorkout.select().where(PlannedWorkout.sync_status == "SYNCED").count())


async def _worker(env: BenchEnv) -> tuple[Child, str]:
    fake = env.intervals
    with bench_database(env, "sqlite", "worker"):
        fake.reset()
        for n in range(WORKER_ATHLETES):
            athlete_id = await athletes.identify("telegram", f"w-{n}", f"w-{n}", name=f"Rider {n}")
            remote, key = f"i{5000 + n}", f"worker-key-{n:04d}-0123"
            fake.add_athlete(remote, key)
            await athletes.link(athlete_id, remote, key)
            await db.call(
                queue_creates, athlete_id, WORKER_ITEMS_EACH, dt.date.today() + dt.timedelta(days=1)
            )
    assert env.redis_url is not None
    settings = {"redis_url": env.redis_url, "intervals_base_url": fake.url}
    process = Process(["worker", "--burst"], _environ(env.tmp / "worker.db", **settings), env.tmp)
    child = await asyncio.to_thread(process.reap)
    with bench_database(env, "sqlite", "worker", keep=True):
        synced = await db.call(_synced)
    queued = WORKER_ATHLETES * WORKER_ITEMS_EACH
    return child, f"worker: synced {synced:,} of {queued:,} queued items in {child.seconds:.1f} s"


async def _chat(env: BenchEnv, gemini: FakeGemini) -> tuple[Child, str]:
    with bench_database(env, "sqlite", "chat"):
        env.intervals.reset()
        await seed_athlete("terminal", "bench", env.intervals)
    lines = env.tmp / "chat-input.txt"
    lines.write_text("".join(f"{QUESTIONS[i % len(QUESTIONS)]}\n" for i in range(CHAT_LINES)))
    settings = {
        "gemini_api_key": gemini.api_key,
        "gemini_base_url": gemini.url,
        "intervals_base_url": env.intervals.url,
    }
    process = Process(["chat", "--as", "bench"], _environ(env.tmp / "chat.db", **settings), env.tmp, lines)
    child = await asyncio.to_thread(process.reap)
    answered = process.log.read_text(errors="replace").count("coach> ")
    return child, f"chat: answered {answered} of {CHAT_LINES} piped lines in {child.seconds:.1f} s"


def _replied(count: int) -> Callable[[FakeTelegram], bool]:
    return lambda telegram: len(telegram.sent(CHAT_ID)) >= count


def _converse(telegram: FakeTelegram, process: Process) -> int:
    """Push messages one at a time until TELEGRAM_SECONDS have passed; returns the replies seen."""
    telegram.wait_for_sync(lambda t: bool(t.calls_of("getUpdates")), timeout=30.0)
    for n in range(1, TELEGRAM_MESSAGES + 1):
        telegram.push_message(CHAT_ID, QUESTIONS[n % len(QUESTIONS)])
        telegram.wait_for_sync(_replied(n), timeout=15.0)
    time.sleep(max(0.0, TELEGRAM_SECONDS - (time.monotonic() - process.started)))
    return len(telegram.sent(CHAT_ID))


async def _telegram(env: BenchEnv, gemini: FakeGemini) -> tuple[Child, str]:
    with bench_database(env, "sqlite", "telegram"):
        env.intervals.reset()
        await seed_athlete("telegram", str(CHAT_ID), env.intervals)
    with FakeTelegram() as telegram:
        process = telegram_process(env, telegram, gemini, env.tmp / "telegram.db", env.tmp)
        try:
            replies = await asyncio.to_thread(_converse, telegram, process)
        except AssertionError:  # the fake's wait_for_sync timed out: report what was answered
            replies = len(telegram.sent(CHAT_ID))
        finally:
            process.stop()
        child = await asyncio.to_thread(process.reap, 30.0)
    return (
        child,
        f"telegram: {replies} of {TELEGRAM_MESSAGES} messages answered, SIGTERM after {child.seconds:.1f} s",
    )


async def run(env: BenchEnv) -> Section:
    """Peak RSS of the worker, `coach chat` and the Telegram bot."""
    clock = Stopwatch()
    section = Section("Peak memory (max RSS per process)")
    with FakeGemini() as gemini:
        gemini.default = text("Thursday: Sweet spot 1, 60 min in the evening. You are well rested.")
        runs = [("`coach chat` (20 piped lines)", _chat(env, gemini))]
        if env.redis_url:
            runs.insert(0, ("`coach worker --burst`", _worker(env)))
            runs.append(("`coach telegram` (~10 s, SIGTERM)", _telegram(env, gemini)))
        else:
            section.notes.append("worker and Telegram bot not run: no Redis (run through scripts/bench).")
        floor = 0.0
        for label, job in runs:
            child, note = await job
            floor = max(floor, child.floor_mb)
            section.add(label, child.peak_mb, "MB", TARGET)
            exit_note = f" (exit {child.code})" if child.code else ""
            section.notes.append(f"{note}{exit_note}.")
            if child.code:
                section.notes.append(f"{label} output ended: {child.tail!r}")
    section.notes.append(
        "MB are 10^6 bytes of resident memory at the process's peak, from `os.wait4` in a small helper "
        f"that starts the process (the helper's own {floor:.0f} MB is the floor Linux carries into "
        "the child at exec). Each process reads the benchmark athlete (five years of history) from "
        "its own SQLite file; the three run one after another."
    )
    section.seconds = clock.elapsed
    return section
