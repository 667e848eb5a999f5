"""Typed errors, named by what the caller does next.

Core raises these; adapters render ``user_message`` to the athlete and log the
type. Nothing here knows about a platform.
"""

from __future__ import annotations


class CoachError(Exception):
    """Root of every error that core expects and knows how to explain."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class ValidationError(CoachError):
    """Input was malformed; nothing was written. Ask again with correct values."""


class NotFound(CoachError):
    """The thing does not exist, or belongs to another athlete (same answer on purpose)."""


class Forbidden(CoachError):
    """The athlete may not do this (e.g. touch an event they made in Intervals.icu)."""


class Conflict(CoachError):
    """The write clashes with availability or another workout; the caller may override."""

    def __init__(
        self,
        user_message: str,
        *,
        kind: str,
        warnings: list[str],
        suggestions: list[str],
    ) -> None:
        super().__init__(user_message)
        self.kind = kind
        self.warnings = warnings
        self.suggestions = suggestions


class NotConnected(CoachError):
    """The athlete has not linked Intervals.icu; explain how to connect."""


class RateLimited(CoachError):
    """The athlete asked for something too often; say when they may try again."""


class ConfigError(CoachError):
    """Configuration is missing or malformed; the process should not start."""


class StartupError(CoachError):
    """A service the process needs is unreachable, or refused its credentials: the process should not start.

    ``user_message`` is one line for the operator naming the setting and what to do.
    """


class Unreachable(StartupError):
    """The service did not answer (network, timeout, 5xx) rather than refusing the credentials.

    A process that can do its work without the service (the worker, without Telegram or Slack)
    starts anyway and asks again later; the others stop as for any StartupError.
    """


class IntervalsError(CoachError):
    """A call to Intervals.icu failed. ``retryable`` says whether to queue and retry."""

    retryable = False

    def __init__(self, user_message: str, *, status: int | None = None) -> None:
        super().__init__(user_message)
        self.status = status


class SyncUnavailable(IntervalsError):
    """Intervals.icu could not be reached or is overloaded: keep the change and retry."""

    retryable = True

    def __init__(
        self,
        user_message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        uncertain: bool = False,
    ) -> None:
        super().__init__(user_message, status=status)
        self.retry_after = retry_after
        # The request may have been applied though no answer came (timeout, lost response).
        self.uncertain = uncertain


class SyncRejected(IntervalsError):
    """Intervals.icu refused the request; retrying the same request will not help."""


class IntervalsAuthError(SyncRejected):
    """The stored API key was refused (revoked or wrong): the athlete must reconnect."""


class RemoteNotFound(SyncRejected):
    """The event or activity does not exist in Intervals.icu."""
