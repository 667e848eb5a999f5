"""Validated input for workouts and availability: one definition serves the services and the tools.

Descriptions here are what the model reads in the tool declarations, so they
are written for it. Enum values are accepted in any case ("ride", "very hard").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
)
from pydantic import ValidationError as PydanticValidationError

from core.errors import ValidationError

WORKOUT_TYPES = ("Ride", "Run", "Gym", "Swim", "Rest", "Active Recovery")
INTENSITIES = ("recovery", "easy", "moderate", "hard", "very_hard")
TIMES_OF_DAY = ("morning", "afternoon", "evening")
LOCATIONS = ("indoor", "outdoor", "any")
FOCUSES = ("endurance", "speed", "strength", "recovery", "mixed")
STEP_KINDS = ("warmup", "steady", "interval", "recovery", "cooldown", "ramp", "repeat")

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def canonical(choices: tuple[str, ...]) -> Callable[[Any], Any]:
    keyed = {re.sub(r"[\s_-]+", "", c).lower(): c for c in choices}

    def pick(value: Any) -> Any:
        if isinstance(value, str):
            return keyed.get(re.sub(r"[\s_-]+", "", value).lower(), value)
        return value

    return pick


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        text = value.strip()[:10] if "T" in value else value.strip()
        if not _ISO_DATE.match(text):
            raise ValueError("must be a date in YYYY-MM-DD form")
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError("is not a real calendar date") from None
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
WorkoutType = Annotated[Literal[WORKOUT_TYPES], BeforeValidator(canonical(WORKOUT_TYPES))]  # type: ignore[valid-type]
Intensity = Annotated[Literal[INTENSITIES], BeforeValidator(canonical(INTENSITIES))]  # type: ignore[valid-type]
TimeOfDay = Annotated[Literal[TIMES_OF_DAY], BeforeValidator(canonical(TIMES_OF_DAY))]  # type: ignore[valid-type]
Location = Annotated[Literal[LOCATIONS], BeforeValidator(canonical(LOCATIONS))]  # type: ignore[valid-type]
StepKind = Annotated[Literal[STEP_KINDS], BeforeValidator(canonical(STEP_KINDS))]  # type: ignore[valid-type]
Focus = Annotated[Literal[FOCUSES], BeforeValidator(canonical(FOCUSES))]  # type: ignore[valid-type]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Duration = Annotated[int, Field(ge=1, le=1440)]
Tss = Annotated[int, Field(ge=0, le=1000)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(Input):
    """One step of a structured workout: a duration or distance and one target."""

    kind: StepKind = Field(
        description="warmup, steady, interval, recovery, cooldown, ramp; repeat for a block"
    )
    # ge, not gt: Gemini's schema has no exclusiveMinimum; no real step is shorter than 6 s or 10 m.
    minutes: float | None = Field(
        None, ge=0.1, le=600, description="Duration in minutes (or give distance_km)"
    )
    distance_km: float | None = Field(
        None, ge=0.01, le=100, description="Distance in km, runs and swims only"
    )
    power_percent: int | None = Field(
        None, ge=30, le=200, description="Power target in % of FTP (rides only); a ramp's start"
    )
    power_percent_end: int | None = Field(
        None, ge=30, le=200, description="Ramp to this % of FTP (ramps and warm-ups)"
    )
    hr_zone: int | None = Field(None, ge=1, le=5, description="Heart-rate zone 1-5 (runs and rides)")
    lthr_percent: int | None = Field(
        None, ge=50, le=110, description="Heart-rate target in % of threshold HR"
    )
    pace: str | None = Field(None, description="Pace m:ss per km (runs) or per 100 m (swims)")


class WorkoutStep(Step):
    """A step, or with kind "repeat" a block: ``repeat`` times the simple ``steps``."""

    repeat: int | None = Field(None, ge=2, le=30, description="With kind repeat: how many times")
    steps: list[Step] | None = Field(None, description="With kind repeat: the steps repeated, in order")


class WorkoutDraft(Input):
    """A new planned workout."""

    date: IsoDate = Field(description="Date of the workout, YYYY-MM-DD, athlete's local date")
    title: Title = Field(description="Short workout title")
    description: Description = Field("", description="Detailed workout description")
    type: WorkoutType = Field("Ride", description="Workout type")
    duration_minutes: Duration | None = Field(None, description="Planned duration in minutes")
    tss: Tss | None = Field(None, description="Target Training Stress Score")
    intensity: Intensity | None = Field(None, description="Intensity level")
    time_of_day: TimeOfDay | None = Field(None, description="Preferred time of day")
    location: Location = Field("any", description="Where: indoor, outdoor or any")
    steps: list[WorkoutStep] | None = Field(
        None, description="Structured steps; duration and TSS are then computed from them"
    )


class WorkoutChanges(Input):
    """Fields to change on an existing workout; unset fields stay as they are."""

    date: IsoDate | None = Field(None, description="New date, YYYY-MM-DD")
    title: Title | None = Field(None, description="New title")
    description: Description | None = Field(None, description="New description")
    type: WorkoutType | None = Field(None, description="New type")
    duration_minutes: Duration | None = Field(None, description="New duration in minutes")
    tss: Tss | None = Field(None, description="New TSS target")
    intensity: Intensity | None = Field(None, description="New intensity")
    time_of_day: TimeOfDay | None = Field(None, description="New time of day")
    location: Location | None = Field(None, description="New location: indoor, outdoor or any")
    steps: list[WorkoutStep] | None = Field(None, description="New structured steps; [] removes them")


class AvailabilityChanges(Input):
    """One weekday's availability; unset flags stay as they are."""

    day_of_week: int = Field(ge=0, le=6, description="Day to update: 0=Sunday, 1=Monday ... 6=Saturday")
    morning: bool | None = Field(None, description="Available in the morning")
    afternoon: bool | None = Field(None, description="Available in the afternoon")
    evening: bool | None = Field(None, description="Available in the evening")
    bike_access: bool | None = Field(None, description="Has bike or trainer access")
    gym_access: bool | None = Field(None, description="Has gym access")
    indoor_only: bool | None = Field(None, description="Can only train indoors")
    outdoor_only: bool | None = Field(None, description="Can only train outdoors")
    notes: Notes | None = Field(None, description="Additional notes or constraints")
    max_minutes: int | None = Field(
        None, ge=0, le=1440, description="Longest total training that day in minutes; 0 removes the limit"
    )


class UnavailableDatesChange(Input):
    """Add or remove a range of days the athlete can not train."""

    action: Literal["add", "remove"] = Field(description="add or remove unavailable days")
    start_date: IsoDate = Field(description="First day, YYYY-MM-DD")
    end_date: IsoDate | None = Field(None, description="Last day, YYYY-MM-DD (default: start_date)")
    reason: Notes | None = Field(None, description="Why, e.g. travel, illness, race elsewhere")


M = TypeVar("M", bound=BaseModel)


def describe(exc: PydanticValidationError, name: str = "input") -> str:
    """One readable line per problem, naming the field."""
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or name
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "is not a known field"
        parts.append(f"{field} {msg}" if msg.startswith(("is ", "must ")) else f"{field}: {msg}")
    return "; ".join(parts)


_DATE_ADAPTER: TypeAdapter[dt.date] = TypeAdapter(IsoDate)


def parse_date(value: Any, name: str) -> dt.date:
    """One ISO date, or ValidationError naming the parameter."""
    try:
        return _DATE_ADAPTER.validate_python(value)
    except PydanticValidationError as exc:
        raise ValidationError(f"Invalid input: {describe(exc, name)}.") from None


def parse(model: type[M], data: Any) -> M:
    """Validate ``data`` into ``model`` or raise ValidationError with a clear message."""
    if isinstance(data, model):
        return data
    if not isinstance(data, dict):
        raise ValidationError("Expected an object of named fields.")
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationError(f"Invalid input: {describe(exc)}.") from None
