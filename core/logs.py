"""Logging for every process: JSON lines in production, readable text in a terminal.

Each record carries the athlete and platform of the turn or job it belongs to
(context variables, so concurrent turns don't mix), plus whatever ``extra`` the
call adds (tool, outcome, duration_ms...). Third-party HTTP loggers stay quiet:
their request lines would print URLs that hold bot tokens.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from typing import Any

athlete_var: contextvars.ContextVar[int | None] = contextvars.ContextVar("athlete", default=None)
platform_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("platform", default=None)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
NOISY = (
    "httpx",
    "httpcore",
    "telegram.ext",
    "aiohttp.access",
    "peewee",
    "slack_bolt",
    "slack_sdk",
    "google_genai",
)


class ContextFilter(logging.Filter):
    """Stamp the current athlete and platform on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.athlete_id = athlete_var.get()
        record.platform = platform_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and value is not None:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines with the athlete and platform when known."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        who = [f"{k}={v}" for k in ("platform", "athlete_id") if (v := getattr(record, k, None)) is not None]
        return f"{line} [{' '.join(who)}]" if who else line


class CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the moment of each record.

    A plain StreamHandler keeps the stream it was built with; when that stream is replaced and
    closed (pytest's capture after a test, a redirecting supervisor), every later record fails
    with "I/O operation on closed file".
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def setup_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Configure the root logger once per process; ``fmt`` is json, text or auto (json unless a TTY)."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler = CurrentStderrHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        JsonFormatter() if use_json else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
