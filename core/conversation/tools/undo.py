"""The undo tool: offer to take back the last change made through the bot."""

from __future__ import annotations

from typing import Any

from core.conversation.tools.base import NoArgs, Tool, ToolContext, tool
from core.planning import undo


async def undo_last_change(ctx: ToolContext, args: NoArgs) -> dict[str, Any]:
    """Offer to undo the last change made in the last 24 hours (a workout added, changed or deleted, availability, unavailable dates, or a whole saved plan). The athlete confirms with a button; call again after it for the change before."""
    text, buttons = await undo.offer(ctx.athlete_id)
    ctx.buttons.extend(buttons)
    if not buttons:
        return {"success": True, "message": text}
    return {
        "success": False,
        "require_confirmation": True,
        "message": f"Tell the athlete: {text!r} They confirm with the buttons shown.",
    }


UNDO_TOOLS: tuple[Tool[Any], ...] = (tool(undo_last_change),)
