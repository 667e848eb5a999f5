"""The tool for unavailable dates: days the athlete can not train at all."""

from __future__ import annotations

from typing import Any

from core.conversation.tools.base import Tool, ToolContext, tool
from core.fields import UnavailableDatesChange
from core.planning import blackouts


async def update_unavailable_dates(ctx: ToolContext, args: UnavailableDatesChange) -> dict[str, Any]:
    """Mark days the athlete can not train at all (travel, illness, a race elsewhere), or clear them again. Workouts are never planned on these days."""
    result = await blackouts.update_unavailable_dates(ctx.athlete_id, args)
    return result.to_dict()


UNAVAILABLE_TOOLS: tuple[Tool[Any], ...] = (tool(update_unavailable_dates),)
