"""Copy every row from one database to another (SQLite to PostgreSQL), ciphertext untouched.

The target is migrated first and must be empty. Rows are copied table by table
in dependency order, raw, so encrypted columns move as they are and need the
same ENCRYPTION_KEY on the other side. PostgreSQL id sequences are moved past
the copied ids afterwards.
"""

from __future__ import annotations

from peewee import AutoField, Database, PostgresqlDatabase

from storage.migrate import migrate
from storage.models import ALL_MODELS

BATCH = 1000


class TargetNotEmpty(Exception):
    """The target database already holds data; refusing to mix two databases."""


def copy_database(source: Database, target: Database) -> dict[str, int]:
    """Copy all rows of every model from ``source`` to ``target``; returns rows per table."""
    migrate(target)
    counts: dict[str, int] = {}
    with source.connection_context(), target.connection_context():
        for model in ALL_MODELS:
            table = model._meta.table_name
            if target.execute_sql(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone():
                raise TargetNotEmpty(f"table {table} in the target database is not empty")
        with target.atomic():
            for model in ALL_MODELS:
                counts[model._meta.table_name] = _copy_table(model, source, target)
            if isinstance(target, PostgresqlDatabase):
                _move_sequences(target)
    return counts


def _copy_table(model: type, source: Database, target: Database) -> int:
    table = model._meta.table_name  # type: ignore[attr-defined]
    columns = [f.column_name for f in model._meta.sorted_fields]  # type: ignore[attr-defined]
    names = ", ".join(f'"{c}"' for c in columns)
    placeholders = ", ".join([target.param] * len(columns))
    cursor = source.execute_sql(f'SELECT {names} FROM "{table}"')
    copied = 0
    while rows := cursor.fetchmany(BATCH):
        for row in rows:
            target.execute_sql(f'INSERT INTO "{table}" ({names}) VALUES ({placeholders})', _adapt(model, row))
        copied += len(rows)
    return copied


def _adapt(model: type, row: tuple[object, ...]) -> tuple[object, ...]:
    # SQLite hands back booleans as 0/1; PostgreSQL wants real booleans.
    out = []
    for field, value in zip(model._meta.sorted_fields, row, strict=True):  # type: ignore[attr-defined]
        if field.field_type == "BOOL" and value is not None:
            value = bool(value)
        out.append(value)
    return tuple(out)


def _move_sequences(target: Database) -> None:
    for model in ALL_MODELS:
        pk = model._meta.primary_key
        if isinstance(pk, AutoField):
            table = model._meta.table_name
            target.execute_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{pk.column_name}'), "
                f'COALESCE((SELECT MAX("{pk.column_name}") FROM "{table}"), 0) + 1, false)'
            )
