"""Benchmark 1: core overhead per turn, with a zero-latency in-process model.

Times ``await coach.handle(Incoming(...))`` for the athlete with five years of
history: a schedule question answered in text (one round trip), and a turn with
one tool call (update_planned_workout, synced to a zero-latency fake Intervals.icu,
then text). Everything but the model is real: identification, the per-athlete
lock, the context built from the database, history, the tool and the sync.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

from bench.common import BenchEnv, Section, Stopwatch, Target, bench_database, db_calls, percentile
from bench.model import ScriptedModel, answer, calls_turn, tools_then_answer
from bench.seed import Seeded, seed_athlete
from core.access.budgets import Budgets
from core.conversation.turn import Coach
from core.messages import Incoming, Reply
from core.model.llm import ModelTurn
from core.sync.intervals import IntervalsPool
from storage import db

TARGET_P99 = Target("<=", 20, "ms")
NO_PACING = 10_000.0  # requests/s: the pacer never waits, so only core's own time is measured
# Budgets are counted on every turn (that cost is measured) but never reached: one athlete sends them all.
UNREACHED = Budgets(turns_per_hour=10**9, tokens_per_day=10**12, flood_messages=10**9)
BACKEND_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


async def _time_turns(
    coach: Coach, seeded: Seeded, text: str, count: int, check: Callable[[Reply], bool]
) -> tuple[list[float], int]:
    """Run ``count`` turns; returns the wall times in ms and how many replies failed ``check``."""
    incoming = Incoming(seeded.platform, seeded.user_id, seeded.user_id, text=text, user_name="Ann")
    samples: list[float] = []
    bad = 0
    for _ in range(count):
        started = time.perf_counter()
        reply = await coach.handle(incoming)
        samples.append((time.perf_counter() - started) * 1000)
        bad += not check(reply)
    return samples, bad


def _update_calls(workout_id: str) -> Callable[[], ModelTurn]:
    # The TSS target: the seeded workouts have steps, so their duration follows the steps.
    targets = itertools.cycle((60, 75))

    def make() -> ModelTurn:
        args = {"workout_id": workout_id, "tss": next(targets)}
        return calls_turn(("update_planned_workout", args))

    return make


async def _case(
    env: BenchEnv,
    section: Section,
    label: str,
    coach: Coach,
    seeded: Seeded,
    text: str,
    check: Callable[[Reply], bool],
) -> None:
    await _time_turns(coach, seeded, text, env.warmup, check)
    with db_calls() as calls:
        samples, bad = await _time_turns(coach, seeded, text, env.turns, check)
    section.add(f"{label}: p50", percentile(samples, 50), "ms")
    section.add(f"{label}: p99", percentile(samples, 99), "ms", TARGET_P99)
    per_turn = sorted(calls.values(), key=lambda c: -c.wall)
    inside = sum(c.wall for c in per_turn) * 1000 / env.turns
    top = ", ".join(f"`{c.name}` {c.wall * 1000 / env.turns:.1f}" for c in per_turn[:4])
    section.notes.append(
        f"{label}: {sum(c.calls for c in per_turn) / env.turns:.0f} `db.call`s a turn, "
        f"{inside:.1f} ms of the {sum(samples) / len(samples):.1f} ms mean inside them (most: {top} ms)."
    )
    if bad:
        section.notes.append(f"{label}: {bad} of {env.turns} replies were not as expected.")


def _nothing() -> None:
    """The lightest database function: what ``db.call`` itself costs."""


async def _call_cost(env: BenchEnv, section: Section, name: str) -> None:
    samples = []
    for _ in range(env.warmup + env.turns):
        started = time.perf_counter()
        await db.call(_nothing)
        samples.append((time.perf_counter() - started) * 1000)
    section.add(f"`db.call` of an empty function, {name}: p50", percentile(samples[env.warmup :], 50), "ms")


async def run(env: BenchEnv) -> Section:
    """p50/p99 turn wall time per backend, for a text turn and a one-tool-call turn."""
    clock = Stopwatch()
    section = Section("Core overhead per turn (zero-latency model)")
    for backend in env.backends():
        name = BACKEND_NAMES[backend]
        with bench_database(env, backend, "turns"):
            env.intervals.reset()
            seeded = await seed_athlete(fake=env.intervals)
            pool = IntervalsPool(env.intervals.url, timeout=10.0, rate=NO_PACING)
            try:
                text_model = ScriptedModel(answer("Thursday: Sweet spot 1, 60 min in the evening."))
                await _case(
                    env,
                    section,
                    f"Schedule question (1 round trip), {name}",
                    Coach(text_model, pool, budget=UNREACHED),
                    seeded,
                    "What is on Thursday?",
                    lambda r: r.sync_status is None and "Thursday" in r.text,
                )
                tool_model = ScriptedModel(tools_then_answer(_update_calls(seeded.upcoming[1]), "Done."))
                await _case(
                    env,
                    section,
                    f"One tool call (update_planned_workout + sync), {name}",
                    Coach(tool_model, pool, budget=UNREACHED),
                    seeded,
                    "Make Tuesday's ride a bit shorter.",
                    lambda r: r.sync_status == "synced",
                )
                await _call_cost(env, section, name)
            finally:
                await pool.aclose()
    section.notes.append(
        f"{env.turns} timed turns after {env.warmup} warm-up turns per case; the history grows as in "
        "real use (16 messages replayed). The tool case includes one HTTP round trip to the fake "
        "Intervals.icu, which runs in a thread of the same process (its request validation shares "
        "the CPU and the GIL with core), with the pacer disabled."
    )
    section.seconds = clock.elapsed
    return section
