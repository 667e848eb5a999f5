"""Benchmark 4: draining the sync queue against the fake Intervals.icu.

10,000 queued creates spread over 20 linked athletes (each athlete's items queued
together, as a generated plan queues them) are written straight into the database,
then ``sync.drain(pool)`` is timed: with 50 ms added to every response and a pool
allowed 50 requests/s (SQLite, and PostgreSQL when available), and on SQLite
against a fake that refuses more than 10 requests a second with the pool at its
default 8/s. Each HTTP request the pool sends is
timed, to tell the wait for Intervals.icu from the time spent in our own code.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from bench.common import BenchEnv, Section, Stopwatch, Target, bench_database, db_calls
from core.access import athletes
from core.sync import outbox as sync
from core.sync.intervals import IntervalsPool
from storage import db
from storage.models import PlannedWorkout, short_id
from tests.fakes.intervals import FakeIntervals

LATENCY = 0.05
FAST_RATE = 50.0
DEFAULT_RATE = 8.0
FAKE_LIMIT = 10
CHUNK = 500


class Traffic:
    """Start and end times of every request the pool sends (wraps its HTTP client)."""

    def __init__(self, pool: IntervalsPool) -> None:
        self.spans: list[tuple[float, float]] = []
        http = pool._http  # noqa: SLF001 - measurement only
        send = http.request

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await send(*args, **kwargs)
            finally:
                self.spans.append((started, time.perf_counter()))

        http.request = timed  # type: ignore[method-assign]

    def busy(self) -> float:
        """Seconds with at least one request in flight."""
        total, reach = 0.0, float("-inf")
        for start, end in sorted(self.spans):
            if end > reach:
                total += end - max(start, reach)
                reach = end
        return total

    def pacer_idle(self, rate: float, t0: float, t1: float) -> float:
        """Seconds the pacer would have let a request go but none was ready (before, between, after)."""
        starts = sorted(s for s, _ in self.spans)
        if not starts:
            return t1 - t0
        gaps = [b - a - 1.0 / rate for a, b in zip(starts, starts[1:], strict=False)]
        tail = t1 - max(e for _, e in self.spans)
        return (starts[0] - t0) + sum(g for g in gaps if g > 0) + tail


def queue_creates(athlete_id: int, count: int, first: dt.date) -> None:
    """Workouts and their create items for one athlete, in one transaction."""
    rows: list[dict[str, Any]] = [
        {
            "id": short_id(),
            "athlete": athlete_id,
            "date": first + dt.timedelta(days=n % 365),
            "time_of_day": ("morning", "afternoon", "evening")[n % 3],
            "title": f"Workout {n}",
            "description": "Warm up 15 min, 4 x 8 min at threshold, 4 min easy between.",
            "type": "Ride",
            "duration_minutes": 60,
            "tss": 65,
            "intensity": "hard",
            "sync_status": "PENDING",
            "modified_locally": True,
        }
        for n in range(count)
    ]
    with db.transaction():
        for start in range(0, len(rows), CHUNK):
            PlannedWorkout.insert_many(rows[start : start + CHUNK]).execute()
        for row in rows:
            sync.enqueue(athlete_id, row["id"], "create", {"date": row["date"].isoformat()})


async def _fill(env: BenchEnv, fake: FakeIntervals) -> list[str]:
    """Link the athletes and queue the items; returns their Intervals.icu ids."""
    remote_ids = []
    per = env.drain_items // env.drain_athletes
    for n in range(env.drain_athletes):
        athlete_id = await athletes.identify("telegram", f"drain-{n}", f"drain-{n}", name=f"Rider {n}")
        remote_id, key = f"i{3000 + n}", f"drain-key-{n:04d}-0123456789"
        fake.add_athlete(remote_id, key)
        await athletes.link(athlete_id, remote_id, key)
        extra = 1 if n < env.drain_items % env.drain_athletes else 0
        await db.call(queue_creates, athlete_id, per + extra, dt.date.today() + dt.timedelta(days=1))
        remote_ids.append(remote_id)
    return remote_ids


async def _drain(
    env: BenchEnv, section: Section, label: str, rate: float, limit: int | None, backend: str = "sqlite"
) -> None:
    fake = env.intervals
    with bench_database(env, backend, f"drain-{len(section.notes)}"):
        fake.reset()
        setup = Stopwatch()
        remote_ids = await _fill(env, fake)
        queued = setup.elapsed
        fake.latency, fake.rate_limit = LATENCY, limit
        pool = IntervalsPool(fake.url, timeout=10.0, rate=rate)
        traffic = Traffic(pool)
        try:
            with db_calls() as calls:
                t0 = time.perf_counter()
                counts = await sync.drain(pool)
                t1 = time.perf_counter()
        finally:
            await pool.aclose()
        wall = t1 - t0
        synced = counts.get("synced", 0)
        remote = sum(len(fake.events(r)) for r in remote_ids)
        requests = len(traffic.spans)
    name = f"{label}: "
    if limit is None:
        section.add(name + "throughput", synced / wall, "items/s", Target(">=", 200, "items/s"))
    else:
        section.add(name + "throughput", synced / wall, "items/s")
        section.add(name + "429 responses", fake.rate_limited, "", Target("==", 0))
        section.add(
            name + "pacer idle (no request ready)",
            100 * traffic.pacer_idle(rate, t0, t1) / wall,
            "% of wall time",
            Target("<=", 5, "%"),
        )
    section.add(name + "requests/s (pacer allows " + f"{rate:g})", requests / wall, "req/s")
    section.add(name + "no request in flight", 100 * (1 - traffic.busy() / wall), "% of wall time")
    outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
    top = ", ".join(f"`{c.name}` {c.cpu:.1f} s" for c in sorted(calls.values(), key=lambda c: -c.cpu)[:3])
    section.notes.append(
        f"{label}: {synced:,} of {env.drain_items:,} items synced in {wall:.1f} s with {requests} "
        f"requests ({remote:,} events at the fake; outcomes: {outcomes}); queueing them took {queued:.1f} s. "
        f"Where the time went: requests in flight {traffic.busy():.1f} s of the wall time; CPU in "
        f"database functions (by `db.call`, lock waits excluded): {top}."
    )


async def run(env: BenchEnv) -> Section:
    """Throughput with latency; 429s and pacer idle time under the fake's rate limit."""
    clock = Stopwatch()
    section = Section(f"Sync drain ({env.drain_items:,} queued creates, {env.drain_athletes} athletes)")
    for backend in env.backends():
        where = "SQLite" if backend == "sqlite" else "PostgreSQL"
        fast = f"{where}, 50 ms latency, pool {FAST_RATE:g} req/s"
        await _drain(env, section, fast, FAST_RATE, None, backend)
    limited = f"SQLite, fake limit {FAKE_LIMIT}/s, pool {DEFAULT_RATE:g} req/s"
    await _drain(env, section, limited, DEFAULT_RATE, FAKE_LIMIT)
    section.notes.append(
        "`sync.drain(pool)` with its defaults (batch 50, concurrency 4); every response 50 ms late. "
        "Pacer idle: time before the first request, gaps between request starts beyond the pacer's "
        "interval, and time after the last response; the target is none, and 5 % allows for the "
        "first claim and the last write."
    )
    section.seconds = clock.elapsed
    return section
