"""Core's small, platform-neutral vocabulary: what comes in and what goes out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Attachment:
    """A voice note, audio file or picture, described by the platform; ``fetch`` downloads it when needed.

    Core checks the description (kind, type, size, length) before anything is downloaded.
    """

    kind: str  # "audio" or "image"
    mime_type: str
    size: int | None  # bytes, as the platform reports it
    fetch: Callable[[], Awaitable[bytes]]
    seconds: float | None = None  # the recording's length, when the platform knows it
    name: str = ""


@dataclass(frozen=True)
class Incoming:
    """A text message or a button press from one chat identity."""

    platform: str
    user_id: str
    chat_id: str
    text: str | None = None
    action: str | None = None  # the opaque payload a button carried
    user_name: str = ""
    team: str | None = None  # the user's Slack workspace, for SLACK_ALLOWED_TEAMS
    # What kind of message it was when core can't read it (sticker, file, ...): answered briefly.
    unsupported: str | None = None
    media: Attachment | None = None  # with ``text`` as its caption
    # False for a group chat: core answers there only with a pointer to the private chat.
    private: bool = True


@dataclass(frozen=True)
class Button:
    """One choice; ``action`` is the short opaque payload the platform hands back on press."""

    label: str
    action: str


@dataclass(frozen=True)
class Reply:
    """What core answers: text, optional buttons, and the sync status of what it changed."""

    text: str
    buttons: tuple[Button, ...] = ()
    sync_status: str | None = None
    # Set when a button press was handled, so the adapter can edit the original message.
    chosen: str | None = None
    # The incoming message held a secret (an API key): the adapter should delete it.
    delete_incoming: bool = False
