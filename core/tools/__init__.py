"""All the tools the model can call, in one explicit tuple."""

from typing import Any

from core.tools.base import Tool
from core.tools.history import HISTORY_TOOLS
from core.tools.planning import PLANNING_TOOLS
from core.tools.unavailable import UNAVAILABLE_TOOLS
from core.tools.undo import UNDO_TOOLS

TOOLS: tuple[Tool[Any], ...] = PLANNING_TOOLS + HISTORY_TOOLS + UNAVAILABLE_TOOLS + UNDO_TOOLS
