"""A small parser of Intervals.icu workout text, for the fake: does a description hold valid steps?

Follows the workout builder's published syntax: a step is a line ``- [cue] AMOUNT TARGET
[CADENCE]``; AMOUNT is a duration (``1h``, ``10m``, ``30s``, ``5m30s``) or a distance
(``2km``, ``400mtr``, ``1mi``; ``m`` alone is minutes); TARGET is power (``75%``,
``95-105%``, ``220w``, ``Z2``, ``ramp 50-70%``), heart rate (``Z2 HR``, ``70% HR``,
``95% LTHR``) or pace (``5:00/km Pace``, ``80% Pace``, ``Z2 Pace``). A line ``Nx`` (alone
or ending a header) opens a repeat block that ends at the next blank line. Lines that do
not start with ``- `` are headers or notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_DISTANCE = re.compile(r"^(\d+(?:\.\d+)?)(km|mtr|mi)$")
_REPEAT = re.compile(r"^(?:.*\s)?(\d+)x$")
_NUM = r"\d+(?:\.\d+)?"
_PACE = r"\d{1,2}:\d{2}(?:/(?:km|mi|100m|100y|500m|400m|250m))?"
_TARGETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("power", re.compile(rf"^(?:ramp )?{_NUM}(?:-{_NUM})?%$", re.I)),
    ("power", re.compile(rf"^{_NUM}(?:-{_NUM})?w$", re.I)),
    ("power", re.compile(r"^Z\d(?:-Z\d)?$", re.I)),
    ("hr", re.compile(rf"^(?:ramp )?(?:{_NUM}(?:-{_NUM})?% (?:HR|LTHR)|Z\d(?:-Z\d)? HR)$", re.I)),
    (
        "pace",
        re.compile(
            rf"^(?:ramp )?(?:{_PACE}(?:-{_PACE})? Pace|{_NUM}(?:-{_NUM})?% Pace|Z\d(?:-Z\d)? Pace)$", re.I
        ),
    ),
)
_CADENCE = re.compile(r"^\d+(?:-\d+)?rpm$", re.I)


class WorkoutTextError(ValueError):
    """A step line that does not parse."""


@dataclass
class ParsedWorkout:
    """The steps found, flattened with their repeat counts."""

    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def targets(self) -> set[str]:
        """The kinds of target used: power, hr, pace."""
        return {s["target"] for s in self.steps}


def _amount(token: str) -> dict[str, Any] | None:
    duration = _DURATION.match(token)
    if duration and any(duration.groups()):
        h, m, s = (int(g or 0) for g in duration.groups())
        return {"seconds": h * 3600 + m * 60 + s}
    distance = _DISTANCE.match(token)
    if distance:
        factor = {"km": 1000.0, "mtr": 1.0, "mi": 1609.344}[distance.group(2)]
        return {"metres": float(distance.group(1)) * factor}
    return None


def _step(line: str, number: int) -> dict[str, Any]:
    tokens = line[2:].split()
    at = next((i for i, t in enumerate(tokens) if _amount(t) is not None), None)
    if at is None:
        raise WorkoutTextError(f"line {number}: no duration or distance in {line!r}")
    step = _amount(tokens[at]) or {}
    rest = tokens[at + 1 :]
    if rest and _CADENCE.match(rest[-1]):
        rest = rest[:-1]
    text = " ".join(rest)
    if text.lower() == "freeride":
        return {**step, "target": "freeride"}
    for kind, pattern in _TARGETS:
        if pattern.match(text):
            return {**step, "target": kind, "text": text}
    raise WorkoutTextError(f"line {number}: target {text!r} is not workout syntax")


def is_step(line: str) -> bool:
    """Whether a line is a step: ``- `` and a duration or distance."""
    return line.startswith("- ") and any(_amount(t) is not None for t in line[2:].split())


def parse(description: str) -> ParsedWorkout | None:
    """The workout in a description, None when it holds no steps; WorkoutTextError when a step is bad."""
    lines = description.splitlines()
    if not any(is_step(line.strip()) for line in lines):
        return None
    parsed = ParsedWorkout()
    repeat = 1
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            repeat = 1
        elif line.startswith("- "):
            parsed.steps.append({**_step(line, number), "repeat": repeat})
        elif _REPEAT.match(line):
            repeat = int(_REPEAT.match(line).group(1))  # type: ignore[union-attr]
    return parsed
