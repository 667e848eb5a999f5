"""The six history tools: completed workouts, wellness, nutrition and fitness, for one athlete.

Each tool refreshes its range from Intervals.icu when the athlete is linked,
then answers from the local tables, so an outage or a missing link still gets
an answer (with a ``note`` saying why it may be incomplete).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from core.conversation.tools.base import Args, NoArgs, Tool, ToolContext, tool
from core.errors import (
    IntervalsAuthError,
    IntervalsError,
    NotConnected,
    RemoteNotFound,
    ValidationError,
)
from core.fields import IsoDate
from core.sync import activities
from storage import db
from storage.models import Activity, Athlete, NutritionEntry, Wellness

MAX_RANGE_DAYS = 366
METRICS_REFRESH_DAYS = 90
NOT_CONNECTED_NOTE = activities.CONNECT_HELP + " Until then only data stored in Coach is shown."
STALE_NOTE = "Could not refresh from Intervals.icu ({reason}); this is stored data and may be out of date."
_DAY = dt.timedelta(days=1)


class RecentArgs(Args):
    """Arguments of get_recent_workouts."""

    days: int = Field(
        7, ge=1, le=90, description="Days to look back, today included (7 = today and the 6 days before)"
    )
    limit: int = Field(20, ge=1, le=50, description="Maximum number of workouts to return")


class DetailsArgs(Args):
    """Arguments of get_workout_details."""

    workout_id: str = Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Intervals.icu activity id as listed by get_recent_workouts or search_workouts, e.g. i47602392",
    )


class RangeArgs(Args):
    """A date window; both ends optional."""

    start_date: IsoDate | None = Field(
        None, description="First day, YYYY-MM-DD (default: 7 days ending on end_date)"
    )
    end_date: IsoDate | None = Field(None, description="Last day, YYYY-MM-DD (default: today)")


class SearchArgs(Args):
    """Arguments of search_workouts."""

    query: str | None = Field(
        None, max_length=100, description="Text to find in the workout name or type, any case"
    )
    type: str | None = Field(
        None,
        max_length=32,
        description="Only this activity type, e.g. Ride, Run, Swim (VirtualRide matches Ride)",
    )
    start_date: IsoDate | None = Field(
        None, description="First day, YYYY-MM-DD (default: 90 days ending on end_date)"
    )
    end_date: IsoDate | None = Field(None, description="Last day, YYYY-MM-DD (default: today)")
    limit: int = Field(20, ge=1, le=50, description="Maximum number of workouts to return")


def _window(
    start: dt.date | None, end: dt.date | None, today: dt.date, default_days: int
) -> tuple[dt.date, dt.date]:
    last = end or max(start or today, today)
    first = start or last - dt.timedelta(days=default_days - 1)
    if last < first:
        raise ValidationError("end_date is before start_date.")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise ValidationError(f"Ask for at most {MAX_RANGE_DAYS} days at a time.")
    return first, last


def _range(first: dt.date, last: dt.date) -> dict[str, str]:
    return {"start": first.isoformat(), "end": last.isoformat()}


async def _freshen(ctx: ToolContext, first: dt.date, last: dt.date) -> str | None:
    """Refresh the window when linked; a note for the answer when that was not possible."""
    last = min(last, ctx.today)
    if first > last:
        return None
    try:
        await activities.refresh(ctx.pool, ctx.athlete_id, first, last)
    except NotConnected:
        return NOT_CONNECTED_NOTE
    except IntervalsAuthError:
        return STALE_NOTE.format(
            reason="it refused the stored API key; reconnect with /connect ATHLETE_ID API_KEY"
        )
    except IntervalsError as exc:
        return STALE_NOTE.format(reason=exc.user_message.rstrip("."))
    return None


def _answer(notes: list[str | None], **data: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"success": True, **data}
    text = " ".join(n for n in notes if n)
    if text:
        out["note"] = text
    return out


def _listing(rows: list[Activity]) -> tuple[list[dict[str, Any]], dict[str, Any], str | None]:
    """Summaries, totals over the real (non-stub) activities, and the Strava note if any stub is listed."""
    listed = [activities.summary(r) for r in rows]
    real = [r for r in rows if not activities.is_strava_stub(r)]
    totals = {
        "workouts": len(rows),
        "duration_min": round(sum(r.moving_time or 0 for r in real) / 60),
        "distance_km": round(sum(r.distance or 0 for r in real) / 1000, 1),
        "load": sum(r.training_load or 0 for r in real),
    }
    stub_note = activities.STRAVA_NOTE if len(real) < len(rows) else None
    return listed, totals, stub_note


@tool
async def get_recent_workouts(ctx: ToolContext, args: RecentArgs) -> dict[str, Any]:
    """Completed workouts of the last days, newest first, with duration, distance, load, power and heart rate."""
    first, last = ctx.today - dt.timedelta(days=args.days - 1), ctx.today
    note = await _freshen(ctx, first, last)
    rows = await db.call(activities.activities_between, ctx.athlete_id, first, last, args.limit)
    listed, totals, stub_note = _listing(rows)
    return _answer(
        [note, stub_note], date_range=_range(first, last), count=len(listed), workouts=listed, totals=totals
    )


@tool
async def get_workout_details(ctx: ToolContext, args: DetailsArgs) -> dict[str, Any]:
    """Everything known about one completed workout: intervals, power and heart-rate zone times, feel, efficiency."""
    row = await db.call(activities.owned_activity, ctx.athlete_id, args.workout_id)
    note = None
    if row is None or not (activities.has_detail(row) or activities.is_strava_stub(row)):
        try:
            if await activities.fetch_activity(ctx.pool, ctx.athlete_id, args.workout_id):
                row = await db.call(activities.owned_activity, ctx.athlete_id, args.workout_id)
        except NotConnected:
            note = NOT_CONNECTED_NOTE if row is not None else None
        except RemoteNotFound:
            pass  # unknown or someone else's: the stored row (if any) is all there is
        except IntervalsError as exc:
            if row is None:
                raise
            note = STALE_NOTE.format(reason=exc.user_message.rstrip("."))
    if row is None:
        raise activities.missing_activity(args.workout_id)
    stub_note = activities.STRAVA_NOTE if activities.is_strava_stub(row) else None
    return _answer([note, stub_note], workout=activities.detail(row))


def _nutrition(athlete_id: int, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    days: dict[dt.date, dict[str, Any]] = {}
    entries = (
        NutritionEntry.select()
        .where(
            (NutritionEntry.athlete == athlete_id)
            & (NutritionEntry.date >= first)
            & (NutritionEntry.date <= last)
        )
        .order_by(NutritionEntry.date, NutritionEntry.created_at)
    )
    for e in entries:
        day = days.setdefault(e.date, {"entries": [], "logged_totals": {}})
        item = {
            "meal": e.meal,
            "description": e.description,
            "kcal": e.calories,
            "carbs_g": e.carbs_g,
            "protein_g": e.protein_g,
            "fat_g": e.fat_g,
        }
        day["entries"].append({k: v for k, v in item.items() if v not in (None, "")})
        for key in ("kcal", "carbs_g", "protein_g", "fat_g"):
            if item[key] is not None:
                day["logged_totals"][key] = round(day["logged_totals"].get(key, 0) + item[key], 1)
    names = {"kcalConsumed": "kcal", "carbohydrates": "carbs_g", "protein": "protein_g", "fatTotal": "fat_g"}
    for w in activities.wellness_between(athlete_id, first, last):
        found = {names[k]: (w.raw or {}).get(k) for k in names if (w.raw or {}).get(k) is not None}
        if found:
            days.setdefault(w.date, {})["intervals_icu"] = found
    return [{"date": d.isoformat(), **{k: v for k, v in days[d].items() if v}} for d in sorted(days)]


@tool
async def get_nutrition_log(ctx: ToolContext, args: RangeArgs) -> dict[str, Any]:
    """Food logged per day (meals, calories, carbs, protein, fat), from Coach and from Intervals.icu wellness."""
    first, last = _window(args.start_date, args.end_date, ctx.today, 7)
    note = await _freshen(ctx, first, last)
    days = await db.call(_nutrition, ctx.athlete_id, first, last)
    empty = None if days else "Nothing logged in this range."
    return _answer([note, empty], date_range=_range(first, last), days=days)


_SUBJECTIVE = {
    "sleepScore": "sleep_score",
    "readiness": "readiness",
    "soreness": "soreness",
    "fatigue": "fatigue",
    "stress": "stress",
    "mood": "mood",
    "motivation": "motivation",
}


def _wellness(athlete_id: int, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    days = []
    for w in activities.wellness_between(athlete_id, first, last):
        raw = w.raw or {}
        day = {
            "date": w.date.isoformat(),
            "ctl": round(w.ctl, 1) if w.ctl is not None else None,
            "atl": round(w.atl, 1) if w.atl is not None else None,
            "form": round(w.ctl - w.atl, 1) if w.ctl is not None and w.atl is not None else None,
            "ramp_rate": round(w.ramp_rate, 1) if w.ramp_rate is not None else None,
            "resting_hr": w.resting_hr,
            "hrv": round(w.hrv, 1) if w.hrv is not None else None,
            "sleep_hours": round(w.sleep_secs / 3600, 1) if w.sleep_secs else None,
            "weight_kg": round(w.weight, 1) if w.weight else None,
            **{out: raw.get(key) for key, out in _SUBJECTIVE.items()},
        }
        values = {k: v for k, v in day.items() if v is not None}
        if len(values) > 1:
            days.append(values)
    return days


@tool
async def get_wellness_metrics(ctx: ToolContext, args: RangeArgs) -> dict[str, Any]:
    """Daily fitness (CTL), fatigue (ATL), form (CTL minus ATL), resting HR, HRV, sleep hours and weight."""
    first, last = _window(args.start_date, args.end_date, ctx.today, 7)
    note = await _freshen(ctx, first, last)
    days = await db.call(_wellness, ctx.athlete_id, first, last)
    empty = None if days else "No wellness data in this range."
    return _answer([note, empty], date_range=_range(first, last), days=days)


def _search(athlete_id: int, args: SearchArgs, first: dt.date, last: dt.date) -> list[Activity]:
    text = (args.query or "").strip().casefold()
    kind = (args.type or "").strip().casefold()
    found = []
    for row in activities.activities_between(athlete_id, first, last):
        if kind and kind not in row.type.casefold():
            continue
        if text and text not in row.name.casefold() and text not in row.type.casefold():
            continue
        found.append(row)
        if len(found) == args.limit:
            break
    return found


@tool
async def search_workouts(ctx: ToolContext, args: SearchArgs) -> dict[str, Any]:
    """Find completed workouts by words in their name or by type over a date range, newest first."""
    first, last = _window(args.start_date, args.end_date, ctx.today, 90)
    note = await _freshen(ctx, first, last)
    rows = await db.call(_search, ctx.athlete_id, args, first, last)
    listed, totals, stub_note = _listing(rows)
    return _answer(
        [note, stub_note], date_range=_range(first, last), count=len(listed), workouts=listed, totals=totals
    )


def _daily_loads(athlete_id: int, first: dt.date, last: dt.date) -> dict[dt.date, float]:
    """Total training load per day in the window (days without load are absent)."""
    totals: dict[dt.date, float] = {}
    for row in Activity.select(Activity.start_date_local, Activity.training_load).where(
        (Activity.athlete == athlete_id)
        & activities.bounds(first, last)
        & Activity.training_load.is_null(False)
    ):
        day = row.start_date_local.date()
        totals[day] = totals.get(day, 0.0) + row.training_load
    return totals


def _latest_wellness(athlete_id: int, on_or_before: dt.date) -> Wellness | None:
    """The newest wellness row that has CTL and ATL, up to the given day."""
    return (
        Wellness.select()
        .where(
            (Wellness.athlete == athlete_id)
            & (Wellness.date <= on_or_before)
            & Wellness.ctl.is_null(False)
            & Wellness.atl.is_null(False)
        )
        .order_by(Wellness.date.desc())
        .first()
    )


def _ftp(athlete_id: int) -> tuple[int | None, str | None]:
    """FTP from the profile, else the newest activity that recorded one."""
    athlete = Athlete.select(Athlete.ftp).where(Athlete.id == athlete_id).first()  # no key decryption
    if athlete is not None and athlete.ftp:
        return int(athlete.ftp), "profile"
    for row in (
        Activity.select(Activity.raw)
        .where(Activity.athlete == athlete_id)
        .order_by(Activity.start_date_local.desc())
        .limit(50)
    ):
        ftp = (row.raw or {}).get("icu_ftp")
        if isinstance(ftp, int | float) and ftp > 0:
            return round(ftp), "latest activity"
    return None, None


def _ramp(weeks: list[dict[str, Any]]) -> str:
    """Last week's load against the three before it."""
    before = sum(w["load"] for w in weeks[:-1]) / max(len(weeks) - 1, 1)
    latest = weeks[-1]["load"]
    if latest == 0 and before == 0:
        return "no recent load"
    if before == 0 or latest > before * 1.1:
        return "increasing"
    return "decreasing" if latest < before * 0.9 else "steady"


def _performance(athlete_id: int, today: dt.date) -> dict[str, Any]:
    out: dict[str, Any] = {}
    latest = _latest_wellness(athlete_id, today)
    if latest is not None:
        ctl, atl = latest.ctl, latest.atl
        out.update(source="Intervals.icu wellness", as_of=latest.date.isoformat(), ramp_rate=latest.ramp_rate)
    else:
        loads = _daily_loads(athlete_id, today - dt.timedelta(days=MAX_RANGE_DAYS - 1), today)
        start = min(loads, default=today)
        ctl, atl = activities.fitness(
            loads.get(start + i * _DAY, 0.0) for i in range((today - start).days + 1)
        )
        out.update(
            source=f"estimated from stored activities since {start.isoformat()} (low if that history is short)",
            as_of=today.isoformat(),
        )
        if not loads:
            out["source"] = "no training load stored yet"
    out.update(ctl=round(ctl, 1), atl=round(atl, 1), form=round(ctl - atl, 1))
    ftp, ftp_source = _ftp(athlete_id)
    out.update(ftp=ftp, ftp_source=ftp_source)
    rows = activities.activities_between(athlete_id, today - dt.timedelta(days=27), today)
    weeks = []
    for back in (3, 2, 1, 0):
        end = today - dt.timedelta(days=7 * back)
        start = end - dt.timedelta(days=6)
        week = [r for r in rows if start <= r.start_date_local.date() <= end]
        weeks.append(
            {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "workouts": len(week),
                "hours": round(sum(r.moving_time or 0 for r in week) / 3600, 1),
                "load": sum(r.training_load or 0 for r in week),
            }
        )
    out.update(weekly_load=weeks, load_trend=_ramp(weeks))
    if any(activities.is_strava_stub(r) for r in rows):
        out["strava_stubs"] = True
    return {k: v for k, v in out.items() if v is not None}


@tool
async def get_performance_metrics(ctx: ToolContext, args: NoArgs) -> dict[str, Any]:
    """Current fitness (CTL), fatigue (ATL), form/TSB (CTL minus ATL), FTP and weekly load of the last 4 weeks."""
    note = await _freshen(ctx, ctx.today - dt.timedelta(days=METRICS_REFRESH_DAYS - 1), ctx.today)
    data = await db.call(_performance, ctx.athlete_id, ctx.today)
    stub_note = activities.STRAVA_NOTE if data.pop("strava_stubs", False) else None
    return _answer([note, stub_note], **data)


HISTORY_TOOLS: tuple[Tool[Any], ...] = (
    get_recent_workouts,
    get_workout_details,
    get_nutrition_log,
    get_wellness_metrics,
    search_workouts,
    get_performance_metrics,
)
