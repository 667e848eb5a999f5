"""Encryption at rest for API keys and sync payloads (Fernet, with MultiFernet for rotation)."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


def parse_keys(spec: str) -> list[Fernet]:
    """Parse ``ENCRYPTION_KEY``: one or more comma-separated Fernet keys, newest first."""
    keys = [part.strip() for part in spec.split(",") if part.strip()]
    if not keys:
        raise ValueError("needs at least one Fernet key")
    try:
        return [Fernet(k) for k in keys]
    except (ValueError, TypeError):
        raise ValueError(
            "is not a valid Fernet key (32 url-safe base64 bytes; "
            'make one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())")'
        ) from None


class Cipher:
    """Encrypts with the first key and decrypts with any, so keys can be rotated."""

    def __init__(self, spec: str) -> None:
        self._fernet = MultiFernet(parse_keys(spec))

    def encrypt(self, plaintext: str) -> str:
        """Return a token safe to store."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Return the plaintext of a stored token."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError("stored value does not decrypt with ENCRYPTION_KEY") from None

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the newest key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError("stored value does not decrypt with ENCRYPTION_KEY") from None


def stored_secrets_state(db: Any, cipher: Cipher | None) -> str:
    """Whether the secrets stored in ``db`` can be read: "none" stored, "ok", "no key" or "wrong key".

    Reads the raw column (no field conversion), the oldest and the newest value of each encrypted
    column: enough to tell a replaced key from the right one without decrypting a whole sync queue.
    """
    from storage.models import ALL_MODELS, EncryptedTextField

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
