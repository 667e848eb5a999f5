"""Structured steps as Intervals.icu workout text, which it turns into a structured workout.

One line per step, ``- [cue] DURATION TARGET``: ``- Warmup 10m ramp 50-70%``,
``- 20m 88%``, ``- 2km 5:00/km Pace``, ``- 8m Z2 HR``, ``- 5m 95% LTHR``. A repeat block
is a line ``3x`` followed by its steps, with a blank line before and after.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.fields import Step, WorkoutStep

_CUES = {"warmup": "Warmup", "cooldown": "Cooldown", "recovery": "Recovery"}


def _duration(minutes: float) -> str:
    seconds = max(1, round(minutes * 60))
    hours, rest = divmod(seconds, 3600)
    mins, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{mins}m" if mins else "", f"{secs}s" if secs else ""]
    return "".join(parts)


def _distance(km: float) -> str:
    # "m" means minutes in workout text: metres are written "mtr".
    return f"{km:g}km" if km >= 1 else f"{round(km * 1000)}mtr"


def _target(step: Step, sport: str) -> str:
    if step.power_percent is not None:
        if step.power_percent_end is not None:
            return f"ramp {step.power_percent}-{step.power_percent_end}%"
        return f"{step.power_percent}%"
    if step.hr_zone is not None:
        return f"Z{step.hr_zone} HR"
    if step.lthr_percent is not None:
        return f"{step.lthr_percent}% LTHR"
    unit = "/100m" if sport == "Swim" else "/km"
    return f"{step.pace}{unit} Pace"


def _amount(step: Step) -> str:
    return _distance(step.distance_km) if step.distance_km is not None else _duration(step.minutes or 0)


def _line(step: Step, sport: str) -> str:
    cue = _CUES.get(step.kind)
    return " ".join(p for p in ("-", cue, _amount(step), _target(step, sport)) if p)


def _parsed(steps: Sequence[WorkoutStep | dict[str, Any]]) -> list[WorkoutStep]:
    return [s if isinstance(s, WorkoutStep) else WorkoutStep.model_validate(s) for s in steps]


def render(steps: Sequence[WorkoutStep | dict[str, Any]], sport: str) -> str:
    """The workout text for checked steps (see core.steps)."""
    lines: list[str] = []
    for step in _parsed(steps):
        if step.kind == "repeat":
            if lines and lines[-1]:
                lines.append("")
            lines.append(f"{step.repeat}x")
            lines.extend(_line(inner, sport) for inner in step.steps or [])
            lines.append("")
        else:
            lines.append(_line(step, sport))
    return "\n".join(lines).strip()


def outline(steps: Sequence[WorkoutStep | dict[str, Any]], sport: str) -> str:
    """The structure on one line, e.g. ``10m 60%, 3x(5m 105%, 3m 55%), 10m 50%``."""

    def short(step: Step) -> str:
        return f"{_amount(step)} {_target(step, sport)}"

    parts = []
    for step in _parsed(steps):
        if step.kind == "repeat":
            parts.append(f"{step.repeat}x({', '.join(short(s) for s in step.steps or [])})")
        else:
            parts.append(short(step))
    return ", ".join(parts)


def description(text: str, steps: Sequence[WorkoutStep | dict[str, Any]] | None, sport: str) -> str:
    """An event's description: the athlete's own text as it is, then the workout text."""
    if not steps:
        return text
    workout = render(steps, sport)
    return f"{text}\n\n{workout}" if text else workout
