"""``python -m bench``: run the benchmarks, print the figures, write docs/benchmarks.md.

``scripts/bench`` runs this with a throwaway PostgreSQL and Redis
(COACH_BENCH_POSTGRES_URL, COACH_BENCH_REDIS_URL); without them the PostgreSQL
figures and the Redis-backed processes are skipped and say so.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import cli_start, context_size, crowd, drain, memory, round_trips, turns
from bench.common import BenchEnv, Section, Stopwatch
from bench.report import machine, markdown, text
from tests.fakes.intervals import FakeIntervals

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS: dict[str, Callable[[BenchEnv], Awaitable[Section]]] = {
    "turns": turns.run,
    "context": context_size.run,
    "round_trips": round_trips.run,
    "drain": drain.run,
    "memory": memory.run,
    "crowd": crowd.run,
    "cli": cli_start.run,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--turns", type=int, default=300, help="timed turns per case (default 300)")
    parser.add_argument("--drain-items", type=int, default=10_000, help="queued items (default 10000)")
    parser.add_argument(
        "--out", type=Path, help="Markdown report (default docs/benchmarks.md; not written with --only)"
    )
    return parser


def _postgres_version(url: str | None) -> str | None:
    if not url:
        return None
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"{row[0]}" if row else None


async def _main(args: argparse.Namespace, tmp: Path) -> list[Section]:
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    sections = []
    with FakeIntervals() as fake:
        env = BenchEnv(
            tmp=tmp,
            intervals=fake,
            postgres_url=os.environ.get("COACH_BENCH_POSTGRES_URL") or None,
            redis_url=os.environ.get("COACH_BENCH_REDIS_URL") or None,
            turns=args.turns,
            drain_items=args.drain_items,
        )
        for name in chosen:
            print(f"running {name}...", end=" ", file=sys.stderr, flush=True)
            section = await BENCHMARKS[name](env)
            print(f"{section.seconds:.0f} s", file=sys.stderr, flush=True)
            sections.append(section)
    return sections


def main() -> int:
    """Run, print, write."""
    args = _parser().parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    clock = Stopwatch()
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
        sections = asyncio.run(_main(args, Path(tmp)))
    total = clock.elapsed
    print(text(sections, total))
    out = args.out or (None if args.only else ROOT / "docs" / "benchmarks.md")
    if out is not None:
        host = machine(_postgres_version(os.environ.get("COACH_BENCH_POSTGRES_URL")))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(markdown(sections, host, total))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
