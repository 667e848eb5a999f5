"""Which planned workout an activity completed, and marking it so.

Intervals.icu's own pairing (``paired_event_id``) wins. Otherwise the activity
completes an uncompleted planned workout of the same local date and sport; of
several, the one closest in duration. Each activity completes at most one
workout, once: the match is stored on the activity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from core.sync.activities import bounds
from storage import db
from storage.models import Activity, PlannedWorkout, utcnow

SPORT = {
    "VirtualRide": "Ride",
    "Ride": "Ride",
    "GravelRide": "Ride",
    "MountainBikeRide": "Ride",
    "Run": "Run",
    "VirtualRun": "Run",
    "TrailRun": "Run",
    "Swim": "Swim",
    "OpenWaterSwim": "Swim",
    "WeightTraining": "Gym",
}


def sport(activity_type: str) -> str:
    """Our workout type for an Intervals.icu activity type."""
    return SPORT.get(activity_type, activity_type)


def closest(activity: Activity, candidates: Iterable[PlannedWorkout]) -> PlannedWorkout | None:
    """The candidate of the activity's date and sport closest to it in duration (unknown durations last)."""
    same = [
        w for w in candidates if w.date == activity.start_date_local.date() and w.type == sport(activity.type)
    ]
    done = (activity.moving_time or 0) / 60

    def distance(w: PlannedWorkout) -> float:
        return abs(w.duration_minutes - done) if w.duration_minutes else float("inf")

    return min(same, key=lambda w: (distance(w), w.time_of_day or "", w.id), default=None)


def mark_completed(athlete_id: int, first: dt.date, last: dt.date) -> list[tuple[Activity, PlannedWorkout]]:
    """Match the window's unmatched activities, oldest first; returns the new (activity, workout) pairs."""
    found = []
    with db.transaction():
        acts = list(
            Activity.select()
            .where(
                (Activity.athlete == athlete_id) & bounds(first, last) & Activity.matched_workout_id.is_null()
            )
            .order_by(Activity.start_date_local, Activity.id)
        )
        if not acts:
            return found  # every pull runs this: most find nothing new
        # Only these can match: a workout on an activity's day, or the event Intervals.icu paired it with.
        paired_ids = [a.paired_event_id for a in acts if a.paired_event_id]
        open_workouts = list(
            PlannedWorkout.select().where(
                (PlannedWorkout.athlete == athlete_id)
                & (PlannedWorkout.completed == False)  # noqa: E712
                & (PlannedWorkout.type != "Rest")
                & (PlannedWorkout.date.between(first, last) | PlannedWorkout.remote_event_id.in_(paired_ids))
            )
        )
        for act in acts:
            paired = [
                w for w in open_workouts if act.paired_event_id and w.remote_event_id == act.paired_event_id
            ]
            match = paired[0] if paired else closest(act, open_workouts)
            if match is None:
                continue
            open_workouts.remove(match)
            match.completed, match.updated_at = True, utcnow()
            match.save()
            act.matched_workout_id = match.id
            act.save(only=[Activity.matched_workout_id])
            found.append((act, match))
    return found
