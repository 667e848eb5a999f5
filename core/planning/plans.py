"""Training plans: draft one with the model (structured output), check it; save and sync it later.

A generated plan must fit the athlete's availability and the workout rules; one
that does not is sent back to the model once with the problems listed, and
what still breaks the rules after that is dropped, never saved. A draft is only
shown (core.planning.previews); it reaches the calendar when the athlete saves it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from core import cache
from core.access import budgets
from core.clock import DAY_NAMES, day_of_week, today_in
from core.errors import CoachError, RateLimited, ValidationError
from core.fields import (
    INTENSITIES,
    LOCATIONS,
    TIMES_OF_DAY,
    WORKOUT_TYPES,
    WorkoutDraft,
    parse,
)
from core.metrics import PLAN_GENERATIONS
from core.model.llm import Model
from core.planning import changes, steps
from core.planning.availability import describe as describe_day
from core.planning.availability import read_week
from core.planning.blackouts import covering
from core.planning.conflicts import Calendar, availability_problems
from core.planning.steps import STEP_DEFINITIONS, STEPS_SCHEMA
from core.planning.workouts import availability_map, calendar, insert_row, remove_row
from core.sync import outbox as sync
from core.sync.intervals import IntervalsPool
from storage import db
from storage.models import (
    Activity,
    Athlete,
    PendingAction,
    PlannedWorkout,
    WeeklyTrainingPlan,
    utcnow,
)

logger = logging.getLogger(__name__)

MAX_PER_HOUR = 10
MAX_PER_DAY = 2

_WORKOUT_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "description": {"type": "string"},
        "type": {"type": "string", "enum": list(WORKOUT_TYPES)},
        "duration_minutes": {"type": "integer"},
        "tss": {"type": "integer"},
        "intensity": {"type": "string", "enum": list(INTENSITIES)},
        "time_of_day": {"type": "string", "enum": list(TIMES_OF_DAY)},
        "location": {"type": "string", "enum": list(LOCATIONS)},
        "steps": STEPS_SCHEMA,
    },
    "required": ["title", "type", "duration_minutes", "tss", "intensity", "time_of_day"],
}
PLAN_SCHEMA: dict[str, Any] = {
    "$defs": STEP_DEFINITIONS,
    "type": "object",
    "properties": {
        "summary": {"type": "string", "description": "Two sentences on the plan's aim"},
        "days": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "date": {"type": "string", "description": "YYYY-MM-DD"},
                    "workouts": {"type": "array", "items": _WORKOUT_SCHEMA},
                },
                "required": ["date", "workouts"],
            },
        },
    },
    "required": ["summary", "days"],
}


@dataclass(frozen=True)
class PlanRequest:
    """What the athlete confirmed: how many days, from when, with what focus."""

    athlete_id: int
    days: int
    start_date: dt.date
    focus: str

    def to_payload(self) -> dict[str, Any]:
        """JSON form, for pending actions and jobs."""
        return {"days": self.days, "start_date": self.start_date.isoformat(), "focus": self.focus}

    @classmethod
    def from_payload(cls, athlete_id: int, payload: dict[str, Any]) -> PlanRequest:
        """Inverse of ``to_payload``."""
        return cls(
            athlete_id,
            int(payload["days"]),
            dt.date.fromisoformat(payload["start_date"]),
            str(payload["focus"]),
        )

    @property
    def end_date(self) -> dt.date:
        """Last day of the plan."""
        return self.start_date + dt.timedelta(days=self.days - 1)


@dataclass(frozen=True)
class Draft:
    """A checked plan not yet saved: its workouts and what was left out, and why."""

    request: PlanRequest
    workouts: list[WorkoutDraft]
    dropped: list[str]
    summary: str
    version: str

    def days(self) -> list[dict[str, Any]]:
        """The workouts grouped by date, in the plan's stored shape."""
        days: dict[str, list[dict[str, Any]]] = {}
        for w in self.workouts:
            fields = w.model_dump(mode="json")
            days.setdefault(fields.pop("date"), []).append(fields)
        return [{"date": k, "workouts": v} for k, v in sorted(days.items())]

    def to_payload(self) -> dict[str, Any]:
        """JSON form, kept with the preview's buttons."""
        return {
            "request": self.request.to_payload(),
            "days": self.days(),
            "dropped": self.dropped,
            "summary": self.summary,
            "version": self.version,
        }

    @classmethod
    def from_payload(cls, athlete_id: int, payload: dict[str, Any]) -> Draft:
        """Inverse of ``to_payload`` (the workouts are checked again before saving)."""
        request = PlanRequest.from_payload(athlete_id, payload["request"])
        workouts = [
            WorkoutDraft.model_validate({**w, "date": day["date"]})
            for day in payload["days"]
            for w in day["workouts"]
        ]
        return cls(request, workouts, list(payload["dropped"]), payload["summary"], payload["version"])


class PlanFailed(CoachError):
    """Generation failed; the current plan is untouched."""


def _recent_load(athlete_id: int, today: dt.date) -> dict[str, Any]:
    since = dt.datetime.combine(today - dt.timedelta(days=28), dt.time())
    rows = list(
        Activity.select().where((Activity.athlete == athlete_id) & (Activity.start_date_local >= since))
    )
    total = sum(a.training_load or 0 for a in rows)
    return {"activities_28d": len(rows), "weekly_tss_avg": round(total / 4)}


def _rules(request: PlanRequest) -> tuple[dict[int, dict[str, Any]], Calendar]:
    """What a plan for ``request`` must respect: the weekly availability and each day's calendar."""
    # What the plan replaces does not count against the days' caps; what stays does.
    dated = calendar(
        request.athlete_id,
        request.start_date,
        request.end_date,
        (PlannedWorkout.origin == "coach") & (PlannedWorkout.completed == False),  # noqa: E712
    )
    return availability_map(request.athlete_id), dated


def _inputs(request: PlanRequest) -> tuple[str, dict[int, dict[str, Any]], Calendar]:
    athlete = Athlete.get_by_id(request.athlete_id)
    availability, dated = _rules(request)
    load = _recent_load(athlete.id, today_in(athlete.timezone))
    week = read_week(athlete.id)
    days = []
    for offset in range(request.days):
        day = request.start_date + dt.timedelta(days=offset)
        blackout = covering(dated.blackouts, day)
        if blackout is not None:
            days.append(f"{day} {DAY_NAMES[day_of_week(day)]}: unavailable all day, no workouts")
            continue
        times, kit, limits = describe_day(week[day_of_week(day)])
        if dated.booked.get(day):
            limits = [*limits, f"{dated.booked[day]} min already planned"]
        days.append(
            f"{day} {DAY_NAMES[day_of_week(day)]}: {', '.join(times) or 'unavailable (rest)'}; "
            f"{', '.join(kit + limits) or 'no equipment'}"
        )
    prompt = "\n".join(
        [
            f"Plan {request.days} days from {request.start_date} with focus: {request.focus}.",
            f"Athlete FTP: {athlete.ftp or 'unknown'} W. Recent load: {json.dumps(load)}.",
            "Availability per day (respect it strictly; Ride needs bike, Gym needs gym; "
            "max N min caps the day's total):",
            *days,
            f"At most {MAX_PER_DAY} workouts a day; include rest days; use type Rest for rest days only if useful.",
            "Give every ride, run and swim its steps (warmup, steady, interval, recovery, cooldown, ramp, "
            "or a repeat block of steps). Rides: power_percent of FTP. Runs: hr_zone, lthr_percent or pace, "
            "never power. The steps' minutes must add up to duration_minutes.",
        ]
    )
    return prompt, availability, dated


def check(
    raw: Any, request: PlanRequest, availability: dict[int, dict[str, Any]], dated: Calendar
) -> tuple[list[WorkoutDraft], list[str]]:
    """Valid workouts of a model plan, and the problems found in the rest."""
    if not isinstance(raw, dict) or not isinstance(raw.get("days"), list):
        return [], ["The plan must be an object with a days list."]
    drafts: list[WorkoutDraft] = []
    problems: list[str] = []
    for day in raw["days"]:
        for item in (day.get("workouts") or []) if isinstance(day, dict) else []:
            try:
                draft = parse(
                    WorkoutDraft, {**item, "date": day.get("date")} if isinstance(item, dict) else item
                )
                draft = WorkoutDraft.model_validate(steps.apply(draft.model_dump()))
            except ValidationError as exc:
                title = item.get("title") if isinstance(item, dict) else None
                problems.append(f"{day.get('date')} {str(title)[:60]!r}: {exc.user_message}")
                continue
            if not request.start_date <= draft.date <= request.end_date:
                problems.append(f"{draft.date} is outside the plan's range.")
                continue
            same_day = [d for d in drafts if d.date == draft.date]
            booked = dated.booked.get(draft.date, 0) + sum(d.duration_minutes or 0 for d in same_day)
            clash = availability_problems(
                draft.model_dump(), availability, Calendar(dated.blackouts, {draft.date: booked})
            )
            if len(same_day) >= MAX_PER_DAY:
                clash.append(f"more than {MAX_PER_DAY} workouts on {draft.date}")
            if any(d.type == draft.type and d.time_of_day == draft.time_of_day for d in same_day):
                clash.append(f"two {draft.type} workouts in the same slot on {draft.date}")
            if clash:
                problems.append(f"{draft.date} {draft.title!r}: " + "; ".join(clash))
                continue
            drafts.append(draft)
    return drafts, problems


def _save(draft: Draft) -> list[str]:
    """Replace the range's uncompleted workouts with the plan's, in one transaction; returns queue item ids."""
    request = draft.request
    with db.transaction():
        athlete = Athlete.get_by_id(request.athlete_id)
        overlapping = (WeeklyTrainingPlan.athlete == athlete.id) & (
            (WeeklyTrainingPlan.status == "ACTIVE")
            & (WeeklyTrainingPlan.week_start <= request.end_date)
            & (WeeklyTrainingPlan.week_end >= request.start_date)
        )
        superseded = [p.id for p in WeeklyTrainingPlan.select(WeeklyTrainingPlan.id).where(overlapping)]
        WeeklyTrainingPlan.update(status="SUPERSEDED").where(WeeklyTrainingPlan.id.in_(superseded)).execute()
        items: list[str | None] = []
        snapshots: list[dict[str, Any]] = []
        replaced = PlannedWorkout.select().where(
            (PlannedWorkout.athlete == athlete.id)
            & (PlannedWorkout.date >= request.start_date)
            & (PlannedWorkout.date <= request.end_date)
            & (PlannedWorkout.completed == False)  # noqa: E712
            # The athlete's own Intervals.icu events are never replaced by a plan.
            & (PlannedWorkout.origin == "coach")
        )
        for old in replaced:
            snapshots.append({**sync.workout_dict(old), "plan": old.plan_id})
            items.append(remove_row(athlete, old))
        plan = WeeklyTrainingPlan.create(
            athlete=athlete.id,
            week_start=request.start_date,
            week_end=request.end_date,
            days_planned=request.days,
            total_tss=sum(d.tss or 0 for d in draft.workouts),
            workout_count=len(draft.workouts),
            summary=draft.summary[:1000],
            focus=request.focus,
            days=draft.days(),
            model_version=draft.version[:64],
        )
        changes.record(
            athlete.id,
            "plan",
            f"saved the {request.days}-day plan from {request.start_date} ({len(draft.workouts)} workouts"
            + (f", replacing {len(snapshots)})" if snapshots else ")"),
            {"plan_id": plan.id, "superseded": superseded, "replaced": snapshots},
        )
        items += [insert_row(athlete, steps.apply(d.model_dump()), plan.id)[1] for d in draft.workouts]
        return [item for item in items if item]


def _generations_last_hour(athlete_id: int) -> int:
    # A confirmed generation, a "Plan next week" press and a "Regenerate" press each ask the model for a plan.
    asked = (
        PendingAction.kind.in_(("generate_plan", "plan_next_week")) & (PendingAction.choice == "yes")
    ) | ((PendingAction.kind == "plan_preview") & (PendingAction.choice == "again"))
    return (
        PendingAction.select()
        .where(
            (PendingAction.athlete == athlete_id)
            & asked
            & (PendingAction.used_at > utcnow() - dt.timedelta(hours=1))
        )
        .count()
    )


async def check_rate(athlete_id: int) -> None:
    """At most MAX_PER_HOUR confirmed generations per athlete per hour."""
    if await db.call(_generations_last_hour, athlete_id) > MAX_PER_HOUR:
        raise RateLimited(
            f"You've generated {MAX_PER_HOUR} plans in the last hour; please wait a bit before the next."
        )


SYSTEM = (
    "You are an endurance coach writing a training plan. Answer only with JSON matching the schema. "
    "Use realistic durations and TSS for the athlete's load, progress gradually, and respect availability."
)


async def draft(model: Model, request: PlanRequest) -> Draft:
    """Ask the model for a plan and check it, with one repair round; nothing is saved."""
    prompt, availability, dated = await db.call(_inputs, request)
    workouts: list[WorkoutDraft] = []
    problems: list[str] = []
    version = ""
    raw: Any = None
    for _attempt in range(2):
        ask = (
            prompt
            if not problems
            else prompt + "\nYour previous plan broke these rules, fix them:\n- " + "\n- ".join(problems[:10])
        )
        try:
            answer = await model.generate_json(SYSTEM, ask, PLAN_SCHEMA)
            await budgets.spend(request.athlete_id, answer.tokens)
            raw, version = answer.data, answer.model_version
        except CoachError as exc:
            PLAN_GENERATIONS.labels("model_error").inc()
            raise PlanFailed(
                f"I couldn't generate the plan: {exc.user_message} Your current plan is unchanged."
            ) from None
        workouts, problems = check(raw, request, availability, dated)
        if not problems:
            break
    if not workouts:
        PLAN_GENERATIONS.labels("rejected").inc()
        raise PlanFailed(
            "The generated plan didn't fit your availability, so I kept your current plan. Try again or adjust your availability."
        )
    if problems:
        logger.warning(
            "plan for athlete %s: dropped %d workouts that broke the rules", request.athlete_id, len(problems)
        )
    PLAN_GENERATIONS.labels("repaired" if problems else "generated").inc()
    summary = str(raw.get("summary") or "")[:500] if isinstance(raw, dict) else ""
    return Draft(request, workouts, problems, summary, version)


def _recheck(draft: Draft) -> Draft:
    """The draft against today's rules: availability may have changed since the preview."""
    availability, dated = _rules(draft.request)
    workouts, problems = check({"days": draft.days()}, draft.request, availability, dated)
    return Draft(draft.request, workouts, problems, draft.summary, draft.version)


async def save(pool: IntervalsPool, draft: Draft) -> tuple[Draft, str | None]:
    """Save a previewed plan and sync it in one bulk call; returns what was saved and the sync status."""
    checked = await db.call(_recheck, draft)
    if not checked.workouts:
        raise PlanFailed("None of the plan's workouts fit your availability any more, so nothing was saved.")
    items = await db.call(_save, checked)
    cache.invalidate("plan", draft.request.athlete_id)
    status = sync.overall(await sync.push_batch(pool, items))
    logger.info(
        "plan saved for athlete %s: %d workouts, sync %s",
        draft.request.athlete_id,
        len(checked.workouts),
        status,
    )
    return checked, status


def current(athlete_id: int) -> dict[str, Any] | None:
    """The active plan in the design's shape, or None (cached; sync, call through db.call)."""
    return cache.get("plan", athlete_id, lambda: _load_current(athlete_id))


def _load_current(athlete_id: int) -> dict[str, Any] | None:
    plan = (
        WeeklyTrainingPlan.select()
        .where((WeeklyTrainingPlan.athlete == athlete_id) & (WeeklyTrainingPlan.status == "ACTIVE"))
        .order_by(WeeklyTrainingPlan.generated_at.desc())
        .first()
    )
    if plan is None:
        return None
    return {
        "id": plan.id,
        "week_start": plan.week_start.isoformat(),
        "week_end": plan.week_end.isoformat(),
        "days_planned": plan.days_planned,
        "status": plan.status,
        "total_tss": plan.total_tss,
        "workout_count": plan.workout_count,
        "summary": plan.summary,
        "days": plan.days,
        "generated_at": plan.generated_at.isoformat(),
        "model_version": plan.model_version,
    }


async def current_plan(athlete_id: int) -> dict[str, Any] | None:
    """The active plan in the design's shape, or None."""
    return await db.call(current, athlete_id)
