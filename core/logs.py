"""Logging set-up shared by every process."""

from __future__ import annotations

import logging


def setup_logging(level: str = "INFO") -> None:
    """Readable one-line logs; third-party HTTP chatter kept quiet (it would print URLs with tokens)."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpcore", "telegram.ext", "aiohttp.access", "peewee"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
