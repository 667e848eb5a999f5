"""Re-encrypt every stored secret under the newest key (ENCRYPTION_KEY="new,old").

Reading decrypts with any configured key and writing encrypts with the first,
so a read-and-write-back of each encrypted column rotates it. Afterwards the
old key can be dropped from ENCRYPTION_KEY.
"""

from __future__ import annotations

from peewee import Database

from storage.models import ALL_MODELS, EncryptedTextField

BATCH = 500


def rotate_secrets(db: Database) -> dict[str, int]:
    """Rotate every encrypted column of every model; returns rows rewritten per table."""
    counts: dict[str, int] = {}
    for model in ALL_MODELS:
        fields = [f for f in model._meta.sorted_fields if isinstance(f, EncryptedTextField)]
        if not fields:
            continue
        done = 0
        last = None
        while True:
            query = (
                model.select(model._meta.primary_key, *fields).order_by(model._meta.primary_key).limit(BATCH)
            )
            if last is not None:
                query = query.where(model._meta.primary_key > last)
            rows = list(query)
            if not rows:
                break
            with db.atomic():
                for row in rows:
                    values = {f: getattr(row, f.name) for f in fields if getattr(row, f.name) is not None}
                    if values:
                        model.update(values).where(model._meta.primary_key == row._pk).execute()
                        done += 1
            last = rows[-1]._pk
        counts[model._meta.table_name] = done
    return counts
