"""The design's feedback shape, returned by every service write and read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SyncStatus = Literal["synced", "pending", "failed"]


@dataclass(frozen=True)
class Feedback:
    """``success``, ``data``, ``sync_status``, ``message``, ``warnings``, ``suggestions``."""

    success: bool
    message: str
    data: Any = None
    sync_status: SyncStatus | None = None
    warnings: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form handed to the model and the adapters."""
        out: dict[str, Any] = {"success": self.success, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        if self.sync_status is not None:
            out["sync_status"] = self.sync_status
        if self.warnings:
            out["warnings"] = self.warnings
        if self.suggestions:
            out["suggestions"] = self.suggestions
        return out


SYNC_MESSAGES: dict[str, str] = {
    "synced": "Synced to Intervals.icu.",
    "pending": (
        "Saved locally; Intervals.icu could not be reached, so it will sync automatically "
        "when the connection is back."
    ),
    "failed": "Saved locally, but Intervals.icu rejected the change: {error}",
    "local": "Saved locally. Connect Intervals.icu (/connect) to sync your plan there.",
}
