"""All the tools the model can call, in one explicit tuple."""

from typing import Any

from core.conversation.tools.base import Tool
from core.conversation.tools.history import HISTORY_TOOLS
from core.conversation.tools.planning import PLANNING_TOOLS
from core.conversation.tools.unavailable import UNAVAILABLE_TOOLS
from core.conversation.tools.undo import UNDO_TOOLS

TOOLS: tuple[Tool[Any], ...] = PLANNING_TOOLS + HISTORY_TOOLS + UNAVAILABLE_TOOLS + UNDO_TOOLS
