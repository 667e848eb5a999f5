"""Completed activities and wellness: pulled from Intervals.icu into the local tables, read back compactly.

``refresh`` is the one way rows get in (tools and jobs share it). Reads are
plain synchronous peewee, to be run through ``db.call``; every query is
filtered by the local athlete id.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from core.errors import NotConnected, NotFound
from core.sync.intervals import IntervalsClient, IntervalsPool
from storage import db
from storage.models import Activity, Athlete, Wellness

logger = logging.getLogger(__name__)

CONNECT_HELP = (
    "Intervals.icu is not connected. Send /connect ATHLETE_ID API_KEY "
    "(both are under Settings, Developer in Intervals.icu)."
)
STRAVA_NOTE = (
    "Strava-synced activities come through Intervals.icu as bare stubs: Strava's API terms "
    "stop Intervals.icu from sharing their details, so no duration, load or power is known for them. "
    "Record directly from the device (Garmin, Wahoo, Zwift...) to Intervals.icu for full data."
)
CTL_DAYS, ATL_DAYS = 42, 7

# Columns first, then the extra fields worth keeping in ``raw``; the rest of the 170-odd is noise.
_ACTIVITY_COLUMNS = {
    "type": "type",
    "name": "name",
    "moving_time": "moving_time",
    "distance": "distance",
    "icu_training_load": "training_load",
    "icu_intensity": "intensity",
    "icu_average_watts": "average_watts",
    "icu_weighted_avg_watts": "weighted_average_watts",
    "average_heartrate": "average_heartrate",
    "source": "source",
    "paired_event_id": "paired_event_id",
}
_ACTIVITY_RAW = (
    "description",
    "elapsed_time",
    "total_elevation_gain",
    "calories",
    "icu_ftp",
    "icu_ctl",
    "icu_atl",
    "trimp",
    "hr_load",
    "power_load",
    "pace_load",
    "max_heartrate",
    "average_speed",
    "pace",
    "icu_efficiency_factor",
    "decoupling",
    "icu_variability_index",
    "icu_joules",
    "icu_rpe",
    "feel",
    "icu_zone_times",
    "icu_hr_zone_times",
    "interval_summary",
    "external_id",
    "trainer",
)
_INTERVAL_KEEP = (
    "type",
    "label",
    "moving_time",
    "average_watts",
    "weighted_average_watts",
    "average_heartrate",
    "intensity",
    "distance",
)
_MAX_INTERVALS = 24
_WELLNESS_COLUMNS = {
    "ctl": "ctl",
    "atl": "atl",
    "rampRate": "ramp_rate",
    "restingHR": "resting_hr",
    "hrv": "hrv",
    "sleepSecs": "sleep_secs",
    "weight": "weight",
}
_NUTRITION_FIELDS = ("kcalConsumed", "carbohydrates", "protein", "fatTotal", "hydrationVolume")
_WELLNESS_RAW = (
    *_NUTRITION_FIELDS,
    "sleepScore",
    "sleepQuality",
    "avgSleepingHR",
    "readiness",
    "hrvSDNN",
    "soreness",
    "fatigue",
    "stress",
    "mood",
    "motivation",
    "injury",
    "spO2",
    "vo2max",
    "steps",
    "bodyFat",
    "comments",
    "sportInfo",
)
_INT_COLUMNS = frozenset(
    {
        "moving_time",
        "training_load",
        "average_watts",
        "weighted_average_watts",
        "average_heartrate",
        "paired_event_id",
        "resting_hr",
        "sleep_secs",
    }
)
_TEXT_LIMITS = {"type": 32, "name": 200, "source": 32}
_DESCRIPTION_LIMIT = 1000


@dataclass(frozen=True)
class RefreshResult:
    """How many activity and wellness records were fetched and stored."""

    activities: int
    wellness: int
    oldest: dt.date
    newest: dt.date

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out = asdict(self)
        out["oldest"], out["newest"] = self.oldest.isoformat(), self.newest.isoformat()
        return out


def _number(value: Any, column: str) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return round(value) if column in _INT_COLUMNS else float(value)


def _column_value(column: str, value: Any) -> Any:
    if column in _TEXT_LIMITS:
        return str(value)[: _TEXT_LIMITS[column]] if value is not None else None
    return _number(value, column)


def _local_datetime(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=None)


def _trim_intervals(intervals: Any) -> list[dict[str, Any]]:
    if not isinstance(intervals, list):
        return []
    kept = [
        {k: i[k] for k in _INTERVAL_KEEP if i.get(k) is not None} for i in intervals if isinstance(i, dict)
    ]
    return kept[:_MAX_INTERVALS]


def activity_fields(remote: Mapping[str, Any]) -> dict[str, Any] | None:
    """Column values and trimmed ``raw`` for one API activity; None if it has no id or start."""
    remote_id, start = remote.get("id"), _local_datetime(remote.get("start_date_local"))
    if not remote_id or start is None:
        return None
    fields: dict[str, Any] = {"remote_id": str(remote_id)[:32], "start_date_local": start}
    for key, column in _ACTIVITY_COLUMNS.items():
        fields[column] = _column_value(column, remote.get(key))
    fields["type"], fields["name"] = fields["type"] or "", fields["name"] or ""
    raw = {k: remote[k] for k in _ACTIVITY_RAW if remote.get(k) is not None}
    if isinstance(raw.get("description"), str):
        raw["description"] = raw["description"][:_DESCRIPTION_LIMIT]
    if "icu_intervals" in remote:  # present only in the detail call; its presence marks the row detailed
        raw["intervals"] = _trim_intervals(remote["icu_intervals"])
    fields["raw"] = raw
    return fields


def wellness_fields(remote: Mapping[str, Any]) -> dict[str, Any] | None:
    """Column values and trimmed ``raw`` for one API wellness record; None if its id is not a day."""
    try:
        day = dt.date.fromisoformat(str(remote.get("id"))[:10])
    except ValueError:
        return None
    fields: dict[str, Any] = {"date": day}
    for key, column in _WELLNESS_COLUMNS.items():
        fields[column] = _number(remote.get(key), column)
    fields["raw"] = {k: remote[k] for k in _WELLNESS_RAW if remote.get(k) is not None}
    return fields


def store_activities(athlete_id: int, remotes: Iterable[Mapping[str, Any]]) -> int:
    """Upsert API activities by (athlete, remote id); ``raw`` is merged so fetched details survive."""
    rows = [f for f in map(activity_fields, remotes) if f is not None]
    if not rows:
        return 0
    with db.transaction():
        ids = [r["remote_id"] for r in rows]
        old = {
            a.remote_id: a.raw or {}
            for a in Activity.select(Activity.remote_id, Activity.raw).where(
                (Activity.athlete == athlete_id) & Activity.remote_id.in_(ids)
            )
        }
        for row in rows:
            row["athlete"] = athlete_id
            row["raw"] = {**old.get(row["remote_id"], {}), **row["raw"]}
        columns = [getattr(Activity, c) for c in rows[0] if c not in ("athlete", "remote_id")]
        (
            Activity.insert_many(rows)
            .on_conflict(conflict_target=[Activity.athlete, Activity.remote_id], preserve=columns)
            .execute()
        )
    return len(rows)


def store_wellness(athlete_id: int, remotes: Iterable[Mapping[str, Any]]) -> int:
    """Upsert API wellness records by (athlete, day)."""
    rows = [f for f in map(wellness_fields, remotes) if f is not None]
    if not rows:
        return 0
    for row in rows:
        row["athlete"] = athlete_id
    columns = [getattr(Wellness, c) for c in rows[0] if c not in ("athlete", "date")]
    with db.transaction():
        (
            Wellness.insert_many(rows)
            .on_conflict(conflict_target=[Wellness.athlete, Wellness.date], preserve=columns)
            .execute()
        )
    return len(rows)


def _linked(athlete_id: int) -> tuple[str, str]:
    # Read here, not through core.access: sync sits below access in core's stack.
    athlete = Athlete.get_or_none(Athlete.id == athlete_id)
    if athlete is None:
        raise NotFound("Athlete not found.")
    if not athlete.connected:
        raise NotConnected(CONNECT_HELP)
    return str(athlete.intervals_athlete_id), str(athlete.intervals_api_key)


async def client_for(pool: IntervalsPool, athlete_id: int) -> tuple[IntervalsClient, str]:
    """The athlete's client and Intervals.icu id; NotConnected when not linked."""
    remote_id, key = await db.call(_linked, athlete_id)
    return pool.client(remote_id, key), remote_id


async def refresh(pool: IntervalsPool, athlete_id: int, oldest: dt.date, newest: dt.date) -> RefreshResult:
    """Fetch activities and wellness for ``oldest``..``newest`` and upsert them locally."""
    client, _ = await client_for(pool, athlete_id)
    remote_activities = await client.list_activities(oldest, newest)
    remote_wellness = await client.list_wellness(oldest, newest)
    stored = await db.call(store_activities, athlete_id, remote_activities)
    days = await db.call(store_wellness, athlete_id, remote_wellness)
    logger.info(
        "refreshed athlete %s %s..%s: %s activities, %s wellness", athlete_id, oldest, newest, stored, days
    )
    return RefreshResult(activities=stored, wellness=days, oldest=oldest, newest=newest)


async def fetch_activity(pool: IntervalsPool, athlete_id: int, activity_id: str) -> bool:
    """Fetch one activity with intervals and store it; False if it is not this athlete's."""
    client, remote_athlete = await client_for(pool, athlete_id)
    remote = await client.get_activity(activity_id)
    owner = remote.get("icu_athlete_id")
    # A key can see activities shared by others (followed athletes); never store those as ours.
    if str(remote.get("id")) != activity_id or (owner and remote_athlete != "0" and owner != remote_athlete):
        return False
    return await db.call(store_activities, athlete_id, [remote]) == 1


def _get(row: Activity | Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)
        if value:
            return value
    return None


def is_strava_stub(activity: Activity | Mapping[str, Any]) -> bool:
    """Whether this is a Strava-sourced activity that Intervals.icu may only pass on as an empty stub."""
    if str(_get(activity, "source") or "").upper() != "STRAVA":
        return False
    data = (
        ("moving_time",),
        ("training_load", "icu_training_load"),
        ("average_watts", "icu_average_watts"),
        ("weighted_average_watts", "icu_weighted_avg_watts"),
        ("distance",),
        ("average_heartrate",),
    )
    return not any(_get(activity, *names) for names in data)


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "", [], {})}


def _minutes(zones: Any) -> Any:
    """Zone seconds as minutes: power zones come as ``[{id, secs}]``, heart-rate zones as ``[secs]``."""
    if not isinstance(zones, list):
        return None
    if all(isinstance(z, dict) for z in zones):
        return {
            str(z.get("id")): round(z["secs"] / 60, 1)
            for z in zones
            if isinstance(z.get("secs"), int | float)
        }
    return [round(s / 60, 1) for s in zones if isinstance(s, int | float)]


def summary(row: Activity) -> dict[str, Any]:
    """The compact form the model reads; stubs carry no invented numbers."""
    base = {
        "id": row.remote_id,
        "date": row.start_date_local.date().isoformat(),
        "start": row.start_date_local.strftime("%H:%M"),
        "type": row.type,
        "name": row.name,
    }
    if is_strava_stub(row):
        return {**base, "source": "STRAVA", "strava_stub": True}
    return _drop_none(
        {
            **base,
            "duration_min": round(row.moving_time / 60) if row.moving_time else None,
            "distance_km": round(row.distance / 1000, 2) if row.distance else None,
            "load": row.training_load,
            "intensity_pct": round(row.intensity, 1) if row.intensity else None,
            "avg_watts": row.average_watts or None,
            "weighted_watts": row.weighted_average_watts or None,
            "avg_hr": row.average_heartrate or None,
            "planned_event_id": row.paired_event_id,
        }
    )


def detail(row: Activity) -> dict[str, Any]:
    """Summary plus the stored extras (intervals, zone times, feel...)."""
    out = summary(row)
    if out.get("strava_stub"):
        return out
    extras = dict(row.raw or {})
    extras["power_zone_min"] = _minutes(extras.pop("icu_zone_times", None))
    extras["hr_zone_min"] = _minutes(extras.pop("icu_hr_zone_times", None))
    return _drop_none({**out, **extras, "source": row.source})


def has_detail(row: Activity) -> bool:
    """Whether the stored row already holds what only the detail call returns (the intervals)."""
    return "intervals" in (row.raw or {})


def bounds(first: dt.date, last: dt.date) -> Any:
    """Peewee condition: the activity started on a day from ``first`` to ``last``."""
    start = dt.datetime.combine(first, dt.time())
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    return (Activity.start_date_local >= start) & (Activity.start_date_local < end)


def activities_between(
    athlete_id: int, first: dt.date, last: dt.date, limit: int | None = None
) -> list[Activity]:
    """This athlete's stored activities in the window, newest first."""
    query = (
        Activity.select()
        .where((Activity.athlete == athlete_id) & bounds(first, last))
        .order_by(Activity.start_date_local.desc(), Activity.id.desc())
    )
    return list(query.limit(limit) if limit else query)


def owned_activity(athlete_id: int, activity_id: str) -> Activity | None:
    """One stored activity of this athlete by its Intervals.icu id."""
    return Activity.get_or_none((Activity.athlete == athlete_id) & (Activity.remote_id == activity_id))


def missing_activity(activity_id: str) -> NotFound:
    """The one answer for an unknown id and for someone else's id."""
    return NotFound(f"No completed activity with id {activity_id[:32]!r}.")


def fitness(loads: Iterable[float], ctl: float = 0.0, atl: float = 0.0) -> tuple[float, float]:
    """CTL and ATL after a series of daily loads: exponentially weighted 42- and 7-day averages."""
    for load in loads:
        ctl += (load - ctl) / CTL_DAYS
        atl += (load - atl) / ATL_DAYS
    return ctl, atl


def wellness_between(athlete_id: int, first: dt.date, last: dt.date) -> list[Wellness]:
    """This athlete's wellness rows in the window, oldest first."""
    return list(
        Wellness.select()
        .where((Wellness.athlete == athlete_id) & (Wellness.date >= first) & (Wellness.date <= last))
        .order_by(Wellness.date)
    )
