"""How a tool is declared: one async function, its argument model, its docstring.

``tool(fn)`` reads the name from the function, the description from its
docstring and the argument model from its ``args`` annotation; the Gemini
declaration and the validation both come from that one place. ``Tool.run``
turns every expected failure into a structured result the model can act on.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, get_type_hints

from pydantic import ValidationError as PydanticValidationError

from core.conversation.tools.schema import parameters_schema
from core.errors import (
    CoachError,
    Conflict,
    Forbidden,
    IntervalsError,
    NotConnected,
    NotFound,
    ValidationError,
)
from core.fields import Input, describe
from core.messages import Button
from core.metrics import TOOL_CALLS
from core.sync.intervals import IntervalsPool

logger = logging.getLogger(__name__)


# Unknown fields are errors the model must fix; the same base serves the services' input.
Args = Input


class NoArgs(Args):
    """A tool that takes no arguments."""


@dataclass
class ToolContext:
    """What a tool may touch: one athlete, the Intervals.icu pool, and the turn's buttons."""

    athlete_id: int
    pool: IntervalsPool
    today: dt.date
    timezone: str = "UTC"
    buttons: list[Button] = field(default_factory=list)
    changed_sync: list[str] = field(default_factory=list)

    def note_sync(self, status: str | None) -> None:
        """Remember the sync outcome of a change, for the reply."""
        if status:
            self.changed_sync.append(status)


A = TypeVar("A", bound=Args)
Handler = Callable[[ToolContext, A], Awaitable[dict[str, Any]]]


def _error(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"success": False, "error": kind, "message": message, **extra}


@dataclass(frozen=True)
class Tool(Generic[A]):
    """A declared tool."""

    name: str
    description: str
    args: type[A]
    handler: Handler[A]

    def declaration(self) -> dict[str, Any]:
        """The Gemini function declaration, derived from the argument model."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters_json_schema": parameters_schema(self.args),
        }

    async def run(self, ctx: ToolContext, raw: Any) -> dict[str, Any]:
        """Validate ``raw`` and call the handler; failures come back as structured results."""
        started = time.monotonic()
        outcome = "ok"
        try:
            if not isinstance(raw, dict):
                raise ValidationError("Arguments must be an object of named fields.")
            try:
                args = self.args.model_validate(raw)
            except PydanticValidationError as exc:
                raise ValidationError(f"Invalid arguments: {describe(exc)}.") from None
            result = await self.handler(ctx, args)
        except ValidationError as exc:
            outcome, result = "invalid", _error("invalid_arguments", exc.user_message)
        except NotFound as exc:
            outcome, result = "not_found", _error("not_found", exc.user_message)
        except Forbidden as exc:
            outcome, result = "forbidden", _error("forbidden", exc.user_message)
        except Conflict as exc:
            outcome = "conflict"
            result = _error("conflict", exc.user_message, warnings=exc.warnings, suggestions=exc.suggestions)
        except NotConnected as exc:
            outcome, result = "not_connected", _error("not_connected", exc.user_message)
        except IntervalsError as exc:
            outcome, result = "intervals_error", _error("intervals_unavailable", exc.user_message)
        except CoachError as exc:
            outcome, result = type(exc).__name__, _error("failed", exc.user_message)
        except Exception:
            logger.exception("tool %s crashed for athlete %s", self.name, ctx.athlete_id)
            outcome, result = "crash", _error("internal_error", "The tool failed unexpectedly.")
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        TOOL_CALLS.labels(self.name, outcome).inc()
        logger.info(
            "tool %s outcome=%s duration_ms=%s",
            self.name,
            outcome,
            duration_ms,
            extra={"tool": self.name, "outcome": outcome, "duration_ms": duration_ms},
        )
        return result


def tool(fn: Handler[A]) -> Tool[A]:
    """Declare a tool from its handler: name, docstring and ``args`` annotation."""
    hints = get_type_hints(fn)
    description = inspect.getdoc(fn)
    if not description:
        raise TypeError(f"tool {fn.__name__} needs a docstring: it is the model's description")
    return Tool(name=fn.__name__, description=description, args=hints["args"], handler=fn)
