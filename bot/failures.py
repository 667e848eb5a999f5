"""What an adapter does with a failure that escaped core: one log line, and an apology for the athlete.

Outages of what a turn depends on (Redis, the database, the network, the platform) are expected:
their type is logged in one line, without a traceback. Anything else is a bug and gets one.
"""

from __future__ import annotations

import logging

from peewee import InterfaceError, OperationalError
from redis.exceptions import RedisError

from core.errors import CoachError

SORRY = "Sorry, something went wrong on my side. Please try again in a moment."
# TimeoutError and ConnectionError are OSErrors; peewee's two are a database that went away.
EXPECTED: tuple[type[BaseException], ...] = (
    CoachError,
    RedisError,
    OSError,
    OperationalError,
    InterfaceError,
)


def log(
    logger: logging.Logger, error: BaseException, what: str, platform: tuple[type[BaseException], ...]
) -> None:
    """Log ``error`` of ``what``: one line when expected (``platform``: the adapter's own client errors)."""
    if isinstance(error, EXPECTED + platform):
        logger.warning("%s failed: %s", what, type(error).__name__)
    else:
        logger.error("%s failed: %s", what, type(error).__name__, exc_info=error)


def apology(error: BaseException) -> str:
    """What to tell the athlete: a typed error's own words, else SORRY."""
    return error.user_message if isinstance(error, CoachError) else SORRY
