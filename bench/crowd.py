"""Benchmark 6: a crowd of athletes writing to one ``coach telegram`` process at the same moment.

100 athletes (each in their own private chat) send a message within a few milliseconds; the
model takes 1 s per call; the fake Telegram refuses more than about 30 calls a second to chats
with 429 "retry after N", as Telegram does. Every reply has to go out through that budget, so the
best possible finish is 1 s + 100 / 30 s; the target allows 10 % more. The "typing…" actions the
bot shows while it waits share the same budget and must not push the replies back. The process is
the real one (``coach telegram``, long polling, Redis for turn order), started like the memory
benchmark's, with its own SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

from bench.common import BenchEnv, Section, Stopwatch, Target, bench_database, percentile
from bench.memory import telegram_process
from core.access import athletes
from tests.fakes.gemini import FakeGemini, delay, forever, text
from tests.fakes.telegram import FLOOD_RATE, FakeTelegram

ATHLETES = 100
MODEL_SECONDS = 1.0
FIRST_CHAT = 700_001
BOUND = 1.1 * (MODEL_SECONDS + ATHLETES / FLOOD_RATE)
WAIT = 30.0  # seconds to wait for the last reply
ANSWER = "Thursday: sweet spot, 75 minutes in the evening. You are well rested for it."


def _crowd(telegram: FakeTelegram) -> tuple[float, dict[int, float]]:
    """Wait for the bot to poll, push one message per athlete at once; returns (t0, chat -> reply delay)."""
    telegram.wait_for_sync(lambda t: bool(t.calls_of("getUpdates")) and bool(t.commands), timeout=60.0)
    t0 = time.monotonic()
    for n in range(ATHLETES):
        telegram.push_message(FIRST_CHAT + n, "What is on Thursday?", first_name=f"Rider {n}")
    with contextlib.suppress(AssertionError):  # timed out: report those answered
        telegram.wait_for_sync(lambda t: len(t.sent()) >= ATHLETES, timeout=WAIT)
    replies = [c for c in telegram.calls_of("sendMessage") if c.status == 200]
    return t0, {int(c.params["chat_id"]): c.at - t0 for c in replies}


async def _run(env: BenchEnv, section: Section) -> None:
    assert env.redis_url is not None
    import redis.asyncio as redis

    client = redis.Redis.from_url(env.redis_url)
    await client.flushdb()  # turn queues left by earlier processes would hold up athletes 1..100
    await client.aclose()
    with bench_database(env, "sqlite", "crowd"):
        for n in range(ATHLETES):
            chat = str(FIRST_CHAT + n)
            await athletes.identify("telegram", chat, chat, name=f"Rider {n}")
    cwd = env.tmp / "crowd"
    cwd.mkdir(exist_ok=True)
    with FakeGemini() as gemini, FakeTelegram() as telegram:
        gemini.script(forever(delay(MODEL_SECONDS, text(ANSWER))))
        process = telegram_process(env, telegram, gemini, env.tmp / "crowd.db", cwd)
        try:
            t0, delays = await asyncio.to_thread(_crowd, telegram)
        except AssertionError:  # the bot never started polling
            t0, delays = time.monotonic(), {}
        finally:
            process.stop()
        child = await asyncio.to_thread(process.reap, 30.0)
        actions = [c for c in telegram.calls_of("sendChatAction") if c.at >= t0]
        flooded, model_calls = telegram.flooded, len(gemini.requests)
    answered = len(delays)
    last = max(delays.values()) if answered == ATHLETES else WAIT  # not all within WAIT: fails
    section.add(f"{ATHLETES} athletes at once: all answered within", last, "s", Target("<=", BOUND, "s"))
    if delays:
        section.add("Reply delay, p50", percentile(list(delays.values()), 50), "s")
    section.add("429 responses from the fake Telegram", flooded, "", Target("==", 0))
    section.add('"typing…" actions sent during the run', len(actions))
    if not math.isnan(child.peak_mb):
        section.add("Peak memory of the process", child.peak_mb, "MB")
    section.notes.append(
        f"{answered} of {ATHLETES} athletes answered ({model_calls} model calls); the bound is "
        f"1.1 × ({MODEL_SECONDS:g} s model + {ATHLETES} replies / {FLOOD_RATE:g} per s) = {BOUND:.2f} s. "
        "Each delay runs from the moment the messages were pushed to the fake Telegram until the "
        "reply reached it."
    )
    section.notes.append(
        'Replies take precedence over chat actions (`bot/telegram_rate.py`): a "typing…" action is '
        "sent only while no other call waits for the budget and at least half of it is free, "
        f"otherwise skipped; {len(actions)} went out during this run."
    )
    if child.code:
        section.notes.append(f"`coach telegram` exited {child.code}; its output ended: {child.tail!r}")


async def run(env: BenchEnv) -> Section:
    """Time until the last of 100 simultaneous athletes is answered."""
    clock = Stopwatch()
    section = Section(f"{ATHLETES} athletes writing at the same moment (model: {MODEL_SECONDS:g} s a call)")
    if env.redis_url:
        await _run(env, section)
    else:
        section.notes.append("not run: `coach telegram` needs Redis (run through scripts/bench).")
    section.seconds = clock.elapsed
    return section
