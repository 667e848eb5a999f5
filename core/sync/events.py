"""Translate planned workouts to Intervals.icu events (``EventEx``) and back.

Field names are the spec's: ``start_date_local``, ``moving_time`` in seconds,
``icu_training_load`` for TSS, ``indoor``. The time of day rides in the start time
because events have no separate field for it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.sync import workout_text

TYPE_TO_REMOTE = {
    "Ride": "Ride",
    "Run": "Run",
    "Gym": "WeightTraining",
    "Swim": "Swim",
    "Active Recovery": "Walk",
}
TIME_OF_DAY_START = {"morning": "07:00:00", "afternoon": "12:00:00", "evening": "18:00:00"}
EXTERNAL_PREFIX = "coach-"


def external_id(workout_id: str) -> str:
    """Our stable id as sent to Intervals.icu, so our events can be recognised."""
    return EXTERNAL_PREFIX + workout_id


def to_event(w: dict[str, Any]) -> dict[str, Any]:
    """An ``EventEx`` body for a workout given as the dict ``workout_dict`` returns."""
    start = TIME_OF_DAY_START.get(w.get("time_of_day") or "", "00:00:00")
    body: dict[str, Any] = {
        "start_date_local": f"{w['date']}T{start}",
        "name": w["title"],
        "description": workout_text.description(w.get("description") or "", w.get("steps"), w["type"]),
        "external_id": external_id(w["id"]),
        "uid": external_id(w["id"]),
    }
    if w["type"] == "Rest":
        body["category"] = "NOTE"
        return body
    body["category"] = "WORKOUT"
    body["type"] = TYPE_TO_REMOTE[w["type"]]
    if w.get("duration_minutes"):
        body["moving_time"] = int(w["duration_minutes"]) * 60
    if w.get("tss") is not None:
        body["icu_training_load"] = int(w["tss"])
    if w.get("location") in ("indoor", "outdoor"):
        body["indoor"] = w["location"] == "indoor"
    return body


def event_date(event: dict[str, Any]) -> dt.date:
    """The local date an event is on."""
    return dt.date.fromisoformat(str(event["start_date_local"])[:10])
