"""A zero-latency, in-process model satisfying ``core.model.llm.Model``: no HTTP, no sleeping.

A policy decides each reply from the conversation so far, so one model can serve
hundreds of turns: e.g. "call update_planned_workout, then answer in text once the
tool results are in". It counts round trips and keeps the tool results it was sent.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from core.model.llm import FunctionCall, ModelTurn, ModelUnavailable, Structured

Contents = list[dict[str, Any]]
Policy = Callable[[Contents], ModelTurn]

_call_ids = itertools.count(1)


def text_turn(text: str) -> ModelTurn:
    """A reply in plain text (ends the turn)."""
    return ModelTurn(text=text, calls=[], content={"role": "model", "parts": [{"text": text}]})


def calls_turn(*calls: tuple[str, dict[str, Any]]) -> ModelTurn:
    """One reply asking for one or more function calls (several = parallel calls in one response)."""
    made = [FunctionCall(name, args, f"call-{next(_call_ids)}") for name, args in calls]
    parts = [{"functionCall": {"name": c.name, "args": c.args, "id": c.id}} for c in made]
    return ModelTurn(text="", calls=made, content={"role": "model", "parts": parts})


def tool_results(contents: Contents) -> list[dict[str, Any]]:
    """The functionResponse bodies in the last content (empty when the athlete spoke last)."""
    if not contents:
        return []
    parts = contents[-1].get("parts") or []
    return [p["functionResponse"] for p in parts if "functionResponse" in p]


def answer(text: str) -> Policy:
    """Always answer in text: a schedule question answered from the context."""
    reply = text_turn(text)
    return lambda contents: reply


def tools_then_answer(make_calls: Callable[[], ModelTurn], text: str) -> Policy:
    """Ask for the calls ``make_calls`` builds; once their results are in, answer ``text``."""
    reply = text_turn(text)

    def policy(contents: Contents) -> ModelTurn:
        return reply if tool_results(contents) else make_calls()

    return policy


class ScriptedModel:
    """The model seam filled in-process; ``round_trips`` counts ``generate`` calls."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.round_trips = 0
        self.last_system = ""
        self.results: list[dict[str, Any]] = []

    async def generate(self, system: str, contents: Contents, tools: list[dict[str, Any]]) -> ModelTurn:
        """One round trip, answered at once by the policy."""
        self.round_trips += 1
        self.last_system = system
        self.results.extend(tool_results(contents))
        return self.policy(contents)

    async def generate_json(
        self, system: str, prompt: str, schema: dict[str, Any], job: str = "plan"
    ) -> Structured:
        """Plans are not benchmarked here."""
        raise ModelUnavailable("The benchmark model does not generate plans.")
