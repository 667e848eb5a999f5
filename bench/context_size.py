"""Benchmark 2: size of the system instruction for a typical 14 days.

The athlete of ``bench.seed`` (ten upcoming workouts with descriptions, seven days
of activities, availability with notes, an active plan, connected to Intervals.icu),
counted with the fake Gemini's tokenizer. For scale it also counts the whole first
request of a turn: the instruction, every tool declaration and a question.
"""

from __future__ import annotations

from bench.common import BenchEnv, Section, Stopwatch, Target, bench_database
from bench.seed import seed_athlete
from core.conversation import context
from core.conversation.tools import TOOLS
from storage import db
from tests.fakes.gemini import count_tokens, prompt_token_count

TARGET = Target("<=", 1_500, "tokens")
QUESTION = "What is on Thursday?"


async def run(env: BenchEnv) -> Section:
    """Tokens of the system instruction, and of a turn's first request for comparison."""
    clock = Stopwatch()
    section = Section("Size of the system instruction (typical 14 days)")
    with bench_database(env, "sqlite", "context"):
        env.intervals.reset()
        seeded = await seed_athlete(fake=env.intervals)
        system = await db.call(context.build, seeded.athlete_id, seeded.today, "telegram")
    body = {
        "systemInstruction": {"parts": [{"text": system}]},
        "contents": [{"role": "user", "parts": [{"text": QUESTION}]}],
        "tools": [{"functionDeclarations": [t.declaration() for t in TOOLS]}],
    }
    section.add("System instruction", count_tokens(system), "tokens", TARGET)
    section.add("System instruction", len(system), "characters")
    section.add("Workouts listed (next 14 days)", system.count("[id: "))
    section.add(
        f"Whole first request (instruction + {len(TOOLS)} tools + question)",
        prompt_token_count(body),
        "tokens",
    )
    section.notes.append(
        "Tokens as `tests.fakes.gemini.count_tokens` counts them (words at ~4 characters a token, "
        "punctuation 1 each); Gemini's own tokenizer may differ by some percent."
    )
    section.seconds = clock.elapsed
    return section
