"""The eight planning tools of the design (section 3): workouts, availability, plans."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from core import actions
from core.conversation.tools.base import Args, NoArgs, Tool, ToolContext, tool
from core.errors import Conflict, ValidationError
from core.fields import (
    AvailabilityChanges,
    Focus,
    IsoDate,
    WorkoutChanges,
    WorkoutDraft,
)
from core.planning import availability, plans, workouts


def _conflict_result(exc: Conflict) -> dict[str, Any]:
    return {
        "success": False,
        "error": "conflict",
        "require_confirmation": True,
        "message": exc.user_message
        + " Tell the athlete the warnings and suggested dates; buttons let them schedule anyway "
        "or pick another day.",
        "warnings": exc.warnings,
        "suggestions": exc.suggestions,
    }


class GetPlannedWorkoutsArgs(Args):
    start_date: IsoDate | None = Field(None, description="Start date, YYYY-MM-DD (default: today)")
    end_date: IsoDate | None = Field(None, description="End date, YYYY-MM-DD (default: start_date + 14 days)")
    include_completed: bool = Field(False, description="Include completed workouts")


async def get_planned_workouts(ctx: ToolContext, args: GetPlannedWorkoutsArgs) -> dict[str, Any]:
    """Fetch planned workouts for a date range. The next 14 days are already in your context: use this only for other dates or completed workouts."""
    result = await workouts.list_workouts(
        ctx.athlete_id, args.start_date, args.end_date, args.include_completed
    )
    return {"success": True, **result.data}


async def create_planned_workout(ctx: ToolContext, args: WorkoutDraft) -> dict[str, Any]:
    """Create a new planned workout. Use when the athlete wants to add a workout to their schedule. Rides, runs and swims may carry structured steps; duration and TSS then come from the steps."""
    try:
        result = await workouts.create_workout(ctx.pool, ctx.athlete_id, args)
    except Conflict as exc:
        ctx.buttons.extend(
            await actions.offer(
                ctx.athlete_id, "override_workout", {"op": "create", "fields": args.model_dump(mode="json")}
            )
        )
        return _conflict_result(exc)
    ctx.note_sync(result.sync_status)
    return result.to_dict()


class UpdateWorkoutArgs(WorkoutChanges):
    workout_id: str = Field(description="The [id] of the workout to change, from the context")


async def update_planned_workout(ctx: ToolContext, args: UpdateWorkoutArgs) -> dict[str, Any]:
    """Modify an existing planned workout: date, time of day, title, description, type, duration, TSS, intensity, location or structured steps."""
    changes = args.model_dump(mode="json", exclude_unset=True, exclude={"workout_id"})
    try:
        result = await workouts.update_workout(ctx.pool, ctx.athlete_id, args.workout_id, changes)
    except Conflict as exc:
        ctx.buttons.extend(
            await actions.offer(
                ctx.athlete_id,
                "override_workout",
                {"op": "update", "workout_id": args.workout_id, "fields": changes},
            )
        )
        return _conflict_result(exc)
    ctx.note_sync(result.sync_status)
    return result.to_dict()


class DeleteWorkoutArgs(Args):
    workout_id: str = Field(description="The [id] of the workout to delete")
    reason: str | None = Field(None, max_length=500, description="Optional reason for deleting")


async def delete_planned_workout(ctx: ToolContext, args: DeleteWorkoutArgs) -> dict[str, Any]:
    """Remove a planned workout from the schedule. The athlete confirms with a button before it is deleted."""
    found = await workouts.get_workout(ctx.athlete_id, args.workout_id)
    ctx.buttons.extend(
        await actions.offer(
            ctx.athlete_id, "delete_workout", {"workout_id": args.workout_id, "reason": args.reason}
        )
    )
    w = found.data
    return {
        "success": False,
        "require_confirmation": True,
        "message": f"Ask the athlete to confirm deleting {w['title']!r} on {w['date']} with the buttons shown.",
    }


async def get_training_availability(ctx: ToolContext, args: NoArgs) -> dict[str, Any]:
    """Get the athlete's weekly training availability (when and with what they can train)."""
    result = await availability.get_availability(ctx.athlete_id)
    return {"success": True, **result.data}


async def update_training_availability(ctx: ToolContext, args: AvailabilityChanges) -> dict[str, Any]:
    """Update when the athlete can train on one day of the week (0=Sunday ... 6=Saturday), and how long at most (max_minutes)."""
    result = await availability.update_availability(ctx.athlete_id, args)
    return result.to_dict()


class GeneratePlanArgs(Args):
    days: int = Field(7, ge=1, le=14, description="Number of days to plan (1-14)")
    start_date: IsoDate | None = Field(None, description="Plan start date, YYYY-MM-DD (default: tomorrow)")
    focus: Focus = Field("mixed", description="Training focus")
    user_confirmed: bool = Field(
        False, description="Whether the athlete asked for the plan; they still confirm with a button"
    )


async def generate_training_plan(ctx: ToolContext, args: GeneratePlanArgs) -> dict[str, Any]:
    """Generate a new AI training plan that replaces uncompleted workouts in its range. The athlete always confirms with a button first."""
    start = args.start_date or ctx.today + dt.timedelta(days=1)
    if start < ctx.today:
        raise ValidationError("A plan can not start in the past.")
    request = plans.PlanRequest(ctx.athlete_id, args.days, start, args.focus)
    ctx.buttons.extend(await actions.offer(ctx.athlete_id, "generate_plan", request.to_payload()))
    return {
        "success": False,
        "error": "User confirmation required",
        "require_confirmation": True,
        "message": (
            f"Ask the athlete to confirm a {args.days}-day {args.focus} plan from {start} with the "
            "buttons shown. It will replace uncompleted workouts in that range."
        ),
    }


async def get_current_plan(ctx: ToolContext, args: NoArgs) -> dict[str, Any]:
    """Get the current active training plan with all its days."""
    plan = await plans.current_plan(ctx.athlete_id)
    if plan is None:
        return {"success": True, "plan": None, "message": "No active plan."}
    return {"success": True, "plan": plan}


PLANNING_TOOLS: tuple[Tool[Any], ...] = (
    tool(get_planned_workouts),
    tool(create_planned_workout),
    tool(update_planned_workout),
    tool(delete_planned_workout),
    tool(get_training_availability),
    tool(update_training_availability),
    tool(generate_training_plan),
    tool(get_current_plan),
)
