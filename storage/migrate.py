"""Apply pending migrations (peewee's built-in runner, history in ``schema_migration``)."""

from __future__ import annotations

import logging
from pathlib import Path

from peewee import Database
from playhouse.migrations import Runner

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def migrate(db: Database, target: str | None = None) -> list[str]:
    """Bring ``db`` up to ``target`` (default: latest); return the names applied."""
    with db.connection_context():
        applied: list[str] = Runner(db, directory=str(MIGRATIONS_DIR)).up(target)
    for name in applied:
        logger.debug("migration applied: %s", name)
    return applied


def pending(db: Database) -> list[str]:
    """Names of migrations not yet applied."""
    with db.connection_context():
        return [m.name for m in Runner(db, directory=str(MIGRATIONS_DIR)).status() if not m.applied]
