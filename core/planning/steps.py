"""Structured workouts: the steps of a workout, checked against its sport and duration.

A workout's steps are a list; each is one step (warm-up, steady, interval,
recovery, cool-down, ramp) or a repeat block of simple steps (nested repeats do
not exist in Intervals.icu). Core checks them here, computes the workout's
duration and an estimated TSS from them (so the three always agree), and
core.sync.workout_text renders them as Intervals.icu workout text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from core.errors import ValidationError
from core.fields import Step, WorkoutStep

SPORTS_WITH_STEPS = ("Ride", "Run", "Swim")
DISTANCE_SPORTS = ("Run", "Swim")
TOLERANCE = 0.05

_PACE = re.compile(r"^(\d{1,2}):([0-5]\d)$")
# Intensity factor of a heart-rate zone (5-zone model), for the TSS estimate.
_HR_ZONE_IF = {1: 0.55, 2: 0.7, 3: 0.82, 4: 0.92, 5: 1.02}
# Without a power or heart-rate target (pace only), the step's kind stands in for its intensity.
_KIND_IF = {
    "warmup": 0.6,
    "steady": 0.75,
    "interval": 0.95,
    "recovery": 0.55,
    "cooldown": 0.6,
    "ramp": 0.7,
}
# Minutes per km (run) or per 100 m (swim) when a distance step has no pace of its own.
_DEFAULT_PACE = {"Run": 6.0, "Swim": 2.0}
_PACE_UNIT = {"Run": "km", "Swim": "100m"}


@dataclass(frozen=True)
class Measured:
    """What the steps add up to."""

    minutes: int
    tss: int


def pace_minutes(pace: str) -> float:
    """Minutes of a m:ss pace."""
    match = _PACE.match(pace)
    if match is None:
        raise ValidationError(f"Pace {pace[:12]!r} must be minutes:seconds, e.g. 5:15.")
    return int(match.group(1)) + int(match.group(2)) / 60


def flatten(steps: Sequence[WorkoutStep]) -> Iterator[tuple[Step, int]]:
    """Every simple step with how many times it runs."""
    for step in steps:
        if step.kind == "repeat":
            for inner in step.steps or []:
                yield inner, step.repeat or 1
        else:
            yield step, 1


def _targets(step: Step) -> list[str]:
    named = {
        "power": step.power_percent,
        "hr_zone": step.hr_zone,
        "lthr": step.lthr_percent,
        "pace": step.pace,
    }
    return [k for k, v in named.items() if v is not None]


def _check_step(step: Step, sport: str, where: str) -> None:
    if step.kind == "repeat":
        raise ValidationError(f"{where}: a repeat block can not hold another repeat block.")
    if (step.minutes is None) == (step.distance_km is None):
        raise ValidationError(f"{where}: give either minutes or distance_km.")
    if step.distance_km is not None and sport not in DISTANCE_SPORTS:
        raise ValidationError(f"{where}: distance steps are for runs and swims; give minutes.")
    targets = _targets(step)
    if len(targets) != 1:
        raise ValidationError(
            f"{where}: give exactly one target (power_percent, hr_zone, lthr_percent or pace)."
        )
    if step.power_percent is not None and sport != "Ride":
        raise ValidationError(f"{where}: {sport.lower()}s take heart-rate or pace targets, never power.")
    if step.pace is not None:
        if sport not in DISTANCE_SPORTS:
            raise ValidationError(f"{where}: pace targets are for runs and swims.")
        low, high = (2.0, 15.0) if sport == "Run" else (0.75, 5.0)
        if not low <= pace_minutes(step.pace) <= high:
            raise ValidationError(f"{where}: pace {step.pace} per {_PACE_UNIT[sport]} is not realistic.")
    if step.kind == "ramp" and step.power_percent_end is None:
        raise ValidationError(f"{where}: a ramp needs power_percent and power_percent_end.")
    if step.power_percent_end is not None and step.power_percent is None:
        raise ValidationError(f"{where}: power_percent_end ramps from power_percent; give both.")


def _minutes(step: Step, sport: str) -> float:
    if step.minutes is not None:
        return step.minutes
    km = step.distance_km or 0.0
    per = pace_minutes(step.pace) if step.pace else _DEFAULT_PACE[sport]
    return km * per * (10 if sport == "Swim" else 1)


def _intensity(step: Step) -> float:
    if step.power_percent is not None:
        return (step.power_percent + (step.power_percent_end or step.power_percent)) / 200
    if step.hr_zone is not None:
        return _HR_ZONE_IF[step.hr_zone]
    if step.lthr_percent is not None:
        return step.lthr_percent / 100
    return _KIND_IF[step.kind]


def measure(steps: Sequence[WorkoutStep], sport: str, duration_minutes: int | None) -> Measured:
    """Check the steps for a workout of ``sport``; their total duration and estimated TSS.

    Raises ValidationError naming the first problem, so the model can correct it.
    """
    if sport not in SPORTS_WITH_STEPS:
        raise ValidationError(f"Steps are for rides, runs and swims, not {sport}.")
    if not steps:
        raise ValidationError("Give at least one step, or leave steps out.")
    for i, step in enumerate(steps, 1):
        if step.kind == "repeat":
            if not step.repeat or not step.steps:
                raise ValidationError(f"Step {i}: a repeat block needs repeat (2-30) and its steps.")
            if _targets(step) or step.minutes or step.distance_km:
                raise ValidationError(f"Step {i}: put durations and targets on the repeated steps.")
            for j, inner in enumerate(step.steps, 1):
                _check_step(inner, sport, f"Step {i}.{j}")
        else:
            if step.repeat or step.steps:
                raise ValidationError(f"Step {i}: only a step of kind repeat has repeat and steps.")
            _check_step(step, sport, f"Step {i}")
    minutes = sum(_minutes(s, sport) * n for s, n in flatten(steps))
    if minutes > 1440:
        raise ValidationError(f"The steps add up to {minutes:.0f} minutes, more than a day.")
    if duration_minutes and abs(minutes - duration_minutes) > TOLERANCE * duration_minutes:
        raise ValidationError(
            f"The steps add up to {minutes:.0f} minutes but the workout is {duration_minutes}; "
            "make them agree (within 5 %), or give steps: [] to drop the steps."
        )
    tss = sum(_minutes(s, sport) * n / 60 * _intensity(s) ** 2 * 100 for s, n in flatten(steps))
    return Measured(max(1, round(minutes)), round(tss))


def apply(fields: dict[str, Any]) -> dict[str, Any]:
    """Workout fields with steps checked, stored compactly, and duration and TSS computed from them."""
    raw = fields.get("steps")
    if not raw:
        return {**fields, "steps": None}
    steps = [s if isinstance(s, WorkoutStep) else WorkoutStep.model_validate(s) for s in raw]
    measured = measure(steps, fields["type"], fields.get("duration_minutes"))
    return {
        **fields,
        "steps": [s.model_dump(mode="json", exclude_none=True) for s in steps],
        "duration_minutes": measured.minutes,
        "tss": measured.tss,
    }


_STEPS = TypeAdapter(list[WorkoutStep]).json_schema()
# The plan's structured-output schema for a workout's steps; its definitions go at the schema's root.
STEPS_SCHEMA: dict[str, Any] = {k: v for k, v in _STEPS.items() if k != "$defs"}
STEP_DEFINITIONS: dict[str, Any] = _STEPS["$defs"]
