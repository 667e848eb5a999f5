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

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _canonical(choices: tuple[str, ...]) -> Callable[[Any], Any]:
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
WorkoutType = Annotated[Literal[WORKOUT_TYPES], BeforeValidator(_canonical(WORKOUT_TYPES))]  # type: ignore[valid-type]
Intensity = Annotated[Literal[INTENSITIES], BeforeValidator(_canonical(INTENSITIES))]  # type: ignore[valid-type]
TimeOfDay = Annotated[Literal[TIMES_OF_DAY], BeforeValidator(_canonical(TIMES_OF_DAY))]  # type: ignore[valid-type]
Location = Annotated[Literal[LOCATIONS], BeforeValidator(_canonical(LOCATIONS))]  # type: ignore[valid-type]
Focus = Annotated[Literal[FOCUSES], BeforeValidator(_canonical(FOCUSES))]  # type: ignore[valid-type]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Duration = Annotated[int, Field(ge=1, le=1440)]
Tss = Annotated[int, Field(ge=0, le=1000)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
