"""How much the model thinks, per model family and per job.

Thinking is billed as output. Gemini 2.5 thinks dynamically unless told a budget (up to 24,576
tokens; 0 turns it off on Flash); Gemini 3 takes a ``thinking_level`` instead, and a request with
both is refused with a 400 (ai.google.dev/gemini-api/docs/thinking). A chat turn and the
after-workout sentence need little; a plan draft weighs a week of sessions and gets more.
"""

from __future__ import annotations

from typing import Literal

from google.genai import types

Job = Literal["chat", "sentence", "plan"]
LEVELS: dict[Job, str] = {"chat": "low", "sentence": "minimal", "plan": "medium"}
BUDGETS: dict[Job, int] = {"chat": 512, "sentence": 0, "plan": 4096}
# GEMINI_THINKING may name a level or a budget; each is translated for the other family.
LEVEL_BUDGETS = {"minimal": 0, "low": 1024, "medium": 8192, "high": 24576}


def uses_budget(model: str) -> bool:
    """Whether ``model`` is of the 2.x families, which take thinking_budget rather than a level."""
    return model.removeprefix("models/").startswith(("gemini-2.", "gemini-1."))


def _level_for(budget: int) -> str:
    return next((level for level, most in LEVEL_BUDGETS.items() if budget <= most), "high")


def thinking_for(model: str, job: Job, override: str | None = None) -> types.ThinkingConfig:
    """The thinking config for one call: the job's default, or GEMINI_THINKING when set."""
    if uses_budget(model):
        if override is None:
            budget = BUDGETS[job]
        else:
            budget = int(override) if override.isdigit() else LEVEL_BUDGETS[override]
        return types.ThinkingConfig(thinking_budget=budget)
    if override is None:
        level = LEVELS[job]
    else:
        level = _level_for(int(override)) if override.isdigit() else override
    return types.ThinkingConfig(thinking_level=types.ThinkingLevel(level.upper()))
