"""Plan previews: a drafted plan is shown with "Save to calendar", "Regenerate" and "Cancel".

Nothing reaches the calendar, here or in Intervals.icu, until "Save to calendar".
The draft waits in the preview's pending action (24 hours, one press), so any
process can save it and a second or stale press is answered, never run twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from core import actions
from core.clock import DAY_NAMES, day_of_week
from core.durations import duration
from core.errors import RateLimited
from core.fields import WorkoutDraft
from core.messages import Reply
from core.model.llm import Model
from core.planning import plans
from core.planning.workouts import in_day_order
from core.sync import workout_text
from core.sync.intervals import IntervalsPool

logger = logging.getLogger(__name__)

KIND = "plan_preview"

# Asks the model for a plan (in this process or the worker's); the key is unique per request.
PlanRunner = Callable[[plans.PlanRequest, str], Awaitable[Reply]]


def _workouts(n: int) -> str:
    return f"{n} workout" if n == 1 else f"{n} workouts"


def _line(w: WorkoutDraft) -> str:
    day = f"{DAY_NAMES[day_of_week(w.date)][:3]} {w.date.isoformat()}"
    when = f", {w.time_of_day}" if w.time_of_day else ""
    facts = [
        w.type,
        f"{w.duration_minutes} min" if w.duration_minutes else "open duration",
        f"TSS {w.tss or 0}",
    ]
    line = f"- {day}{when}: {w.title} ({', '.join(facts)})"
    outline = workout_text.outline(w.steps, w.type) if w.steps else " ".join(w.description.split())
    if outline:
        line += f"\n  {outline[:90]}{'…' if len(outline) > 90 else ''}"
    return line


def render(draft: plans.Draft) -> str:
    """The preview text: the plan day by day, the week's totals and what was left out."""
    request = draft.request
    workouts = sorted(draft.workouts, key=in_day_order)
    lines = [f"Your {request.days}-day plan ({request.focus}) from {request.start_date}, for review:"]
    if draft.summary:
        lines.append(draft.summary)
    lines.append("")
    lines.extend(_line(w) for w in workouts)
    minutes = sum(w.duration_minutes or 0 for w in workouts)
    lines.append(
        f"\nTotal: {_workouts(len(workouts))}, TSS {sum(w.tss or 0 for w in workouts)}, {duration(minutes * 60)}."
    )
    if draft.dropped:
        lines.append("Left out (still breaking your availability, limits or the workout rules):")
        lines.extend(f"- {problem}" for problem in draft.dropped)
    lines.append("\nNothing is in your calendar yet. This preview stays valid for 24 hours.")
    return "\n".join(lines)


async def create(model: Model, request: plans.PlanRequest) -> Reply:
    """Draft a plan and offer it for review (raises plans.PlanFailed)."""
    draft = await plans.draft(model, request)
    buttons = await actions.offer(request.athlete_id, KIND, draft.to_payload())
    return Reply(render(draft), buttons=buttons)


def _saved(draft: plans.Draft) -> str:
    tss = sum(w.tss or 0 for w in draft.workouts)
    text = f"Saved your {draft.request.days}-day plan: {_workouts(len(draft.workouts))}, total TSS {tss}."
    if draft.dropped:
        text += " Left out because your availability changed: " + "; ".join(draft.dropped)
    return text


async def within_rate(athlete_id: int, claimed: actions.Claimed) -> None:
    """Refuse a generation over the hourly limit; the refused press is given back, so the
    buttons (a preview's "Save to calendar" too) still work."""
    try:
        await plans.check_rate(athlete_id)
    except RateLimited:
        await actions.release(athlete_id, claimed.action_id)
        raise


async def answer(pool: IntervalsPool, runner: PlanRunner, athlete_id: int, claimed: actions.Claimed) -> Reply:
    """Act on a press of one of the preview's buttons."""
    draft = plans.Draft.from_payload(athlete_id, claimed.payload)
    if claimed.choice == "again":
        await within_rate(athlete_id, claimed)
        return await runner(draft.request, claimed.action_id)
    if not claimed.accepted:
        return Reply("OK, I dropped that plan. Your calendar is unchanged.")
    try:
        saved, status = await plans.save(pool, draft)
    except plans.PlanFailed as exc:
        return Reply(exc.user_message)
    return Reply(_saved(saved), sync_status=status)
