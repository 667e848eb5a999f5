"""Benchmark 3: model round trips for scripted scenarios.

Each scenario runs one real turn for the benchmark athlete with the in-process
scripted model and counts its ``generate`` calls. The model asks for the calls a
good model would (the three creations as parallel calls in one response) and
answers in text once the results are in; the figure shows whether core needs any
round trip beyond that, and the notes whether every tool call worked and synced.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bench.common import BenchEnv, Section, Stopwatch, Target, bench_database
from bench.model import ScriptedModel, answer, calls_turn, tools_then_answer
from bench.seed import FREE_OFFSETS, Seeded, seed_athlete
from core.conversation.turn import Coach
from core.messages import Incoming
from core.sync.intervals import IntervalsPool
from tests.fakes.intervals import FakeIntervals


@dataclass(frozen=True)
class Scenario:
    """A message, the model's behaviour for it, and the round trips it should take."""

    name: str
    message: str
    model: ScriptedModel
    target: int


def _scenarios(seeded: Seeded) -> list[Scenario]:
    def day(offset: int) -> str:
        return (seeded.today + dt.timedelta(days=offset)).isoformat()

    move = {"workout_id": seeded.upcoming[2], "date": day(FREE_OFFSETS[0])}
    runs = [
        {
            "date": day(o),
            "title": f"Easy run {n}",
            "type": "Run",
            "duration_minutes": 40,
            "time_of_day": "morning",
        }
        for n, o in enumerate(FREE_OFFSETS[1:4], 1)
    ]
    return [
        Scenario(
            "Schedule question",
            "What is on Thursday?",
            ScriptedModel(answer("Thursday: Sweet spot 1, 60 min in the evening.")),
            1,
        ),
        Scenario(
            "Move a workout (update, then text)",
            "Move my ride to the free day, please.",
            ScriptedModel(
                tools_then_answer(lambda: calls_turn(("update_planned_workout", move)), "Moved it.")
            ),
            2,
        ),
        Scenario(
            "Create three workouts in one message (parallel calls)",
            "Add three easy 40-minute runs on my free mornings.",
            ScriptedModel(
                tools_then_answer(
                    lambda: calls_turn(*[("create_planned_workout", r) for r in runs]), "Added three runs."
                )
            ),
            2,
        ),
    ]


async def _play(scenario: Scenario, seeded: Seeded, pool: IntervalsPool, fake: FakeIntervals) -> str:
    """Run the scenario's turn; returns a note on its tool calls and sync."""
    before = len(fake.requests)
    reply = await Coach(scenario.model, pool).handle(
        Incoming(seeded.platform, seeded.user_id, seeded.user_id, text=scenario.message, user_name="Ann")
    )
    results = scenario.model.results
    worked = sum(bool(r["response"].get("success")) for r in results)
    calls = f"{worked} of {len(results)} tool call(s) succeeded" if results else "no tool calls"
    sent = len(fake.requests) - before
    return f"{scenario.name}: {calls}, sync {reply.sync_status or 'n/a'}, {sent} Intervals.icu request(s)."


async def run(env: BenchEnv) -> Section:
    """Round trips per scenario against their targets."""
    clock = Stopwatch()
    section = Section("Model round trips for scripted scenarios")
    with bench_database(env, "sqlite", "round_trips"):
        env.intervals.reset()
        seeded = await seed_athlete(fake=env.intervals)
        pool = IntervalsPool(env.intervals.url, timeout=10.0)
        try:
            for scenario in _scenarios(seeded):
                note = await _play(scenario, seeded, pool, env.intervals)
                section.add(scenario.name, scenario.model.round_trips, "", Target("<=", scenario.target, ""))
                section.notes.append(note)
        finally:
            await pool.aclose()
    section.seconds = clock.elapsed
    return section
