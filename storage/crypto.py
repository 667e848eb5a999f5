"""Encryption at rest for API keys and sync payloads (Fernet, with MultiFernet for rotation)."""

from __future__ import annotations

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
