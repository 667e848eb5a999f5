"""What every benchmark shares: figures with targets, the run's settings, and database handles."""

from __future__ import annotations

import math
import operator
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from peewee import Database

from core import cache
from storage import db as storage_db
from storage.crypto import Cipher
from storage.db import database, dispose, open_database
from storage.migrate import migrate
from tests.fakes.intervals import FakeIntervals

ENCRYPTION_KEY = Fernet.generate_key().decode()

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
}
_SHOWN = {"<=": "≤", ">=": "≥", "==": "=", "<": "<", ">": ">"}


@dataclass(frozen=True)
class Target:
    """A bound a figure must meet, e.g. ``Target("<=", 20, "ms")``."""

    op: str
    bound: float
    unit: str = ""

    def met(self, value: float) -> bool:
        """Whether ``value`` meets the bound."""
        return _OPS[self.op](value, self.bound)

    def __str__(self) -> str:
        return f"{_SHOWN[self.op]} {fmt(self.bound)} {self.unit}".strip()


@dataclass(frozen=True)
class Figure:
    """One measured value; with a target it passes or fails, without one it is information."""

    label: str
    value: float | str
    unit: str = ""
    target: Target | None = None

    @property
    def passed(self) -> bool | None:
        """True/False against the target; None when there is no target or no number."""
        if self.target is None or isinstance(self.value, str):
            return None
        return self.target.met(self.value)

    def shown(self) -> str:
        """The value with its unit."""
        if isinstance(self.value, str):
            return self.value
        return f"{fmt(self.value)} {self.unit}".strip()


@dataclass
class Section:
    """One benchmark's table, plus notes printed under it."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, label: str, value: float | str, unit: str = "", target: Target | None = None) -> None:
        """Append a figure."""
        self.figures.append(Figure(label, value, unit, target))


@dataclass
class BenchEnv:
    """Settings of one run and the shared fake Intervals.icu."""

    tmp: Path
    intervals: FakeIntervals
    postgres_url: str | None
    redis_url: str | None
    turns: int = 300
    warmup: int = 30
    drain_items: int = 10_000
    drain_athletes: int = 20

    def backends(self) -> list[str]:
        """The database backends available to this run."""
        return ["sqlite", "postgres"] if self.postgres_url else ["sqlite"]


def fmt(value: float) -> str:
    """A number for humans: integers plain, others with 3 significant digits (at least 1 decimal)."""
    if float(value).is_integer():
        return f"{int(value):,}"
    digits = max(1, 2 - int(math.floor(math.log10(abs(value))))) if value else 1
    return f"{value:,.{digits}f}"


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``samples`` (pct in 0..100)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _reset_postgres(db: Database) -> None:
    with db.connection_context():
        db.execute_sql("DROP SCHEMA public CASCADE")
        db.execute_sql("CREATE SCHEMA public")


@contextmanager
def bench_database(env: BenchEnv, backend: str, name: str, *, keep: bool = False) -> Iterator[Database]:
    """A fresh, migrated database bound to the models: a SQLite file in tmp, or the emptied PostgreSQL.

    ``keep``: reopen the SQLite file ``name`` as it is (to read what a child process left there).
    """
    if backend == "postgres":
        assert env.postgres_url is not None
        db = open_database(env.postgres_url, Cipher(ENCRYPTION_KEY))
        _reset_postgres(db)
    else:
        path = env.tmp / f"{name}.db"
        if not keep:
            path.unlink(missing_ok=True)
        db = open_database(f"sqlite:///{path}", Cipher(ENCRYPTION_KEY))
    migrate(db)
    cache.clear()  # athlete ids repeat in every fresh database
    try:
        yield db
    finally:
        dispose(db)
        cache.clear()
        database.initialize(None)


class Stopwatch:
    """Seconds since creation (monotonic)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        """Seconds since start."""
        return time.perf_counter() - self.started


@dataclass
class DbCalls:
    """Totals for one function run through ``db.call``."""

    name: str
    calls: int = 0
    wall: float = 0.0  # seconds in the worker thread, connection setup and lock waits included
    cpu: float = 0.0  # thread CPU seconds: waits for locks and I/O excluded


@contextmanager
def db_calls() -> Iterator[dict[str, DbCalls]]:
    """While open, time every function core runs through ``storage.db.call``, by function name."""
    seen: dict[str, DbCalls] = {}
    guard = threading.Lock()
    original = storage_db._in_connection  # measurement only; restored below

    def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(fn, *args, **kwargs)
        finally:
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            name = getattr(fn, "__name__", repr(fn))
            with guard:
                entry = seen.setdefault(name, DbCalls(name))
                entry.calls, entry.wall, entry.cpu = entry.calls + 1, entry.wall + wall, entry.cpu + cpu

    storage_db._in_connection = timed
    try:
        yield seen
    finally:
        storage_db._in_connection = original
