"""Whether the configured ENCRYPTION_KEY reads what the database already holds.

A lost or replaced key is found at start, by decrypting a sample, before any
process writes a row with it.
"""

from __future__ import annotations

from typing import Any

from storage.crypto import Cipher, DecryptionError
from storage.models import ALL_MODELS, EncryptedTextField


def stored_secrets_state(db: Any, cipher: Cipher | None) -> str:
    """Whether the secrets stored in ``db`` can be read: "none" stored, "ok", "no key" or "wrong key".

    Reads the raw column (no field conversion), the oldest and the newest value of each encrypted
    column: enough to tell a replaced key from the right one without decrypting a whole sync queue.
    """
    samples: list[str] = []
    for model in ALL_MODELS:
        table = model._meta.table_name
        for field in (f for f in model._meta.sorted_fields if isinstance(f, EncryptedTextField)):
            if not db.table_exists(table):
                continue
            for order in ("ASC", "DESC"):
                row = db.execute_sql(
                    f'SELECT "{field.column_name}" FROM "{table}" WHERE "{field.column_name}" IS NOT NULL '
                    f'ORDER BY "{model._meta.primary_key.column_name}" {order} LIMIT 1'
                ).fetchone()
                if row:
                    samples.append(row[0])
    if not samples:
        return "none"
    if cipher is None:
        return "no key"
    try:
        for token in samples:
            cipher.decrypt(token)
    except DecryptionError:
        return "wrong key"
    return "ok"
