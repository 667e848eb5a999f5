"""Structured steps as Intervals.icu workout text, which it turns into a structured workout.

One line per step, ``- [cue] DURATION TARGET``: ``- Warmup 10m ramp 50-70%``,
``- 20m 88%``, ``- 2km 5:00/km Pace``, ``- 8m Z2 HR``, ``- 5m 95% LTHR``. A repeat block
is a line ``3x`` followed by its steps, with a blank line before and after.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.fields import WorkoutStep

# Stored steps are plain dicts, already checked (core.planning.steps); reading them needs no model.
Steps = Sequence[WorkoutStep | dict[str, Any]]

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


def _target(step: dict[str, Any], sport: str) -> str:
    if step.get("power_percent") is not None:
        if step.get("power_percent_end") is not None:
            return f"ramp {step['power_percent']}-{step['power_percent_end']}%"
        return f"{step['power_percent']}%"
    if step.get("hr_zone") is not None:
        return f"Z{step['hr_zone']} HR"
    if step.get("lthr_percent") is not None:
        return f"{step['lthr_percent']}% LTHR"
    unit = "/100m" if sport == "Swim" else "/km"
    return f"{step['pace']}{unit} Pace"


def _amount(step: dict[str, Any]) -> str:
    km = step.get("distance_km")
    return _distance(km) if km is not None else _duration(step.get("minutes") or 0)


def _line(step: dict[str, Any], sport: str) -> str:
    cue = _CUES.get(step["kind"])
    return " ".join(p for p in ("-", cue, _amount(step), _target(step, sport)) if p)


def _plain(steps: Steps) -> list[dict[str, Any]]:
    return [s.model_dump(exclude_none=True) if isinstance(s, WorkoutStep) else s for s in steps]


def render(steps: Steps, sport: str) -> str:
    """The workout text for checked steps (see core.planning.steps)."""
    lines: list[str] = []
    for step in _plain(steps):
        if step["kind"] == "repeat":
            if lines and lines[-1]:
                lines.append("")
            lines.append(f"{step['repeat']}x")
            lines.extend(_line(inner, sport) for inner in step["steps"])
            lines.append("")
        else:
            lines.append(_line(step, sport))
    return "\n".join(lines).strip()


def outline(steps: Steps, sport: str, *, main_only: bool = False) -> str:
    """The structure on one line, e.g. ``10m 60%, 3x(5m 105%, 3m 55%), 10m 50%``.

    ``main_only`` leaves out warm-up and cool-down (the context's short form).
    """

    def short(step: dict[str, Any]) -> str:
        return f"{_amount(step)} {_target(step, sport)}"

    parts = []
    for step in _plain(steps):
        if main_only and step["kind"] in ("warmup", "cooldown"):
            continue
        if step["kind"] == "repeat":
            parts.append(f"{step['repeat']}x({', '.join(short(s) for s in step['steps'])})")
        else:
            parts.append(short(step))
    return ", ".join(parts)


def description(text: str, steps: Steps | None, sport: str) -> str:
    """An event's description: the athlete's own text as it is, then the workout text."""
    if not steps:
        return text
    workout = render(steps, sport)
    return f"{text}\n\n{workout}" if text else workout
