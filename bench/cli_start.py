"""Benchmark: how long the ``coach`` command takes to answer ``--help`` and ``--version``.

Every operator command starts a Python process; before commands imported what they need
lazily, each paid about two seconds for google-genai. Each case runs 10 times in each of
three rounds; the figure is the worst round's median (machines are noisy).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import BenchEnv, Section, Stopwatch, Target

TARGET = Target("<=", 300, "ms")
ROOT = Path(__file__).resolve().parents[1]
ROUNDS, RUNS = 3, 10


def _coach() -> list[str]:
    script = Path(sys.executable).with_name("coach")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli"]


def _median_ms(args: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([*_coach(), *args], cwd=ROOT, capture_output=True, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def run(env: BenchEnv) -> Section:
    """Worst-of-three median wall time of ``coach --help`` and ``coach --version``."""
    clock = Stopwatch()
    section = Section("Start of the coach command")
    for args in (["--help"], ["--version"]):
        worst = max(_median_ms(args) for _ in range(ROUNDS))
        section.add(f"coach {' '.join(args)}, worst of {ROUNDS} medians", round(worst, 1), "ms", TARGET)
    section.seconds = clock.elapsed
    return section
