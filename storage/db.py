"""The database handle: one proxy the models bind to, opened from DATABASE_URL.

Queries are plain synchronous peewee. Async code runs them through ``call``,
which uses a worker thread with its own connection, so the event loop never
blocks on the database and SQLite and PostgreSQL take the same path.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from peewee import Database, DatabaseProxy, SqliteDatabase
from playhouse.pool import PooledPostgresqlDatabase

from storage.crypto import Cipher

database = DatabaseProxy()

P = ParamSpec("P")
T = TypeVar("T")


class _Secrets:
    """Holds the cipher that encrypted fields use; set once at start."""

    cipher: Cipher | None = None


secrets = _Secrets()


def connect(url: str) -> Database:
    """Open SQLite (``sqlite:///path``) or a pooled PostgreSQL database from a URL."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :] or ":memory:"
        return SqliteDatabase(
            path,
            pragmas={
                "journal_mode": "wal",
                "foreign_keys": 1,
                # Several threads and processes write; wait for the lock instead of failing.
                "busy_timeout": 10_000,
                "synchronous": "normal",
            },
        )
    parts = urlsplit(url)
    return PooledPostgresqlDatabase(
        (parts.path or "/").lstrip("/") or None,
        user=parts.username,
        password=parts.password,
        host=parts.hostname,
        port=parts.port,
        max_connections=32,
        stale_timeout=300,
        timeout=10,
    )


def open_database(url: str, cipher: Cipher | None = None) -> Database:
    """Bind the models to the database at ``url`` and set the cipher for secrets."""
    db = connect(url)
    database.initialize(db)
    secrets.cipher = cipher
    return db


def transaction() -> Any:
    """A write transaction. On SQLite it takes the write lock up front (BEGIN IMMEDIATE):
    two deferred transactions that read and then write would otherwise fail with
    "database is locked" instead of waiting for each other."""
    if isinstance(database.obj, SqliteDatabase):
        return database.obj.atomic(lock_type="IMMEDIATE")
    return database.atomic()


def dispose(db: Database) -> None:
    """Close every connection of ``db``, pooled ones included."""
    close_all = getattr(db, "close_all", None)
    if close_all is not None:
        close_all()
    elif not db.is_closed():
        db.close()


def is_postgres() -> bool:
    """Whether the bound database is PostgreSQL (row locks, SKIP LOCKED)."""
    return isinstance(database.obj, PooledPostgresqlDatabase)


def _in_connection(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    if isinstance(database.obj, SqliteDatabase):
        # Worker threads are reused; so is their SQLite connection (opening one costs
        # more than most queries). PostgreSQL connections go back to the pool instead.
        database.connect(reuse_if_open=True)
        return fn(*args, **kwargs)
    with database.connection_context():
        return fn(*args, **kwargs)


async def call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a synchronous database function in a thread, inside its own connection."""
    bound: Callable[[], Any] = functools.partial(_in_connection, fn, *args, **kwargs)
    return await asyncio.to_thread(bound)  # type: ignore[no-any-return]
