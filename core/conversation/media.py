"""Voice notes, audio files and pictures: limits, the types Gemini accepts, and the parts of a turn.

An attachment reaches the model inline in the turn's user content, with the same context and
tools as a typed message. Nothing of it is stored: a picture is remembered as a ``[photo]`` line,
a recording as the one-line transcript the model is asked to begin its answer with, and the
audio in the turn's contents is swapped for that line as soon as the model has written it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from core.errors import CoachError
from core.messages import Attachment

logger = logging.getLogger(__name__)

MAX_SECONDS = 120
# Gemini takes at most 20 MB per request, counted on the JSON body in which the bytes travel as
# base64 (4/3 larger): 14 MB of media leaves room for the context and the history.
MAX_BYTES = 14 * 1024 * 1024
# When the platform doesn't say how long a recording is: 2 minutes at 256 kbit/s.
MAX_BYTES_UNTIMED = MAX_SECONDS * 256_000 // 8

# The types Gemini documents (ai.google.dev/gemini-api/docs/audio and .../image-understanding).
AUDIO_TYPES = frozenset({"audio/wav", "audio/mp3", "audio/aiff", "audio/aac", "audio/ogg", "audio/flac"})
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"})
# Other names platforms give the same formats. Slack records audio clips as AAC in an MP4
# container (.m4a, "audio/mp4"), which is AAC to Gemini.
_ALIASES = {
    "audio/mpeg": "audio/mp3",
    "audio/mpeg3": "audio/mp3",
    "audio/x-mp3": "audio/mp3",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/x-aiff": "audio/aiff",
    "audio/x-aac": "audio/aac",
    "audio/mp4": "audio/aac",
    "audio/m4a": "audio/aac",
    "audio/x-m4a": "audio/aac",
    "audio/x-flac": "audio/flac",
    "audio/opus": "audio/ogg",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
}

TOO_LONG = "That recording is {seconds} long. I listen to at most 2 minutes: please send a shorter one."
UNTIMED_TOO_BIG = (
    "I can't tell how long that recording is, and it's too big for 2 minutes. "
    "Please send a voice note or clip of at most 2 minutes."
)
TOO_BIG = "That file is too big for me ({size}). Please send one under {limit}."
UNSUPPORTED_TYPE = (
    "I can't read that kind of file ({mime}). I understand voice notes and audio "
    "(OGG, MP3, M4A, AAC, WAV, AIFF, FLAC) and pictures (JPEG, PNG, WebP, HEIC)."
)
UNREADABLE = (
    "Sorry, my coaching model couldn't read that file. "
    "Please send a voice note, or the picture as a photo (JPEG or PNG)."
)
NO_TRANSCRIPT = "🎙 (I couldn't make out the words)"
NOT_HEARD = "🎙 (a voice message the coach didn't get to hear)"

# The line the model is asked to begin with, as it may write it (curly quotes, an emoji variant).
_LINE = re.compile(r"^\s*🎙\ufe0f?(?P<words>.*)$")
_TRANSCRIPT_CHARS = 2000  # 2 minutes of fast speech is about 1,800 characters

LISTEN = (
    "(This message is a voice recording. Begin your answer with one line holding exactly what "
    'you heard, in the language spoken: 🎙 "<the words>". Write that line first even when you '
    "call a tool, in the same response as the call. Then act on the words as if they had been typed.)"
)
LOOK = "(The athlete sent this picture{caption}.)"


class MediaUnavailable(CoachError):
    """The platform wouldn't hand over the file (expired, deleted, refused)."""


class MediaRefused(CoachError):
    """The attachment breaks a limit or isn't a type Gemini accepts; ``reason`` labels the metric."""

    def __init__(self, user_message: str, reason: str) -> None:
        super().__init__(user_message)
        self.reason = reason


def kind_of(mime_type: str) -> str:
    """The Attachment kind of a shared file: "audio", "image", or "file" for anything else."""
    return mime_type.split("/", 1)[0] if mime_type.startswith(("audio/", "image/")) else "file"


def gemini_type(mime_type: str) -> str | None:
    """The MIME type to declare to Gemini for ``mime_type`` (parameters dropped), or None if unsupported."""
    bare = mime_type.split(";")[0].strip().lower()
    bare = _ALIASES.get(bare, bare)
    return bare if bare in AUDIO_TYPES | IMAGE_TYPES else None


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d} min" if whole >= 60 else f"{whole} s"


def too_big(size: int) -> MediaRefused:
    """The refusal of a file of ``size`` bytes."""
    return MediaRefused(TOO_BIG.format(size=_megabytes(size), limit=_megabytes(MAX_BYTES)), "too_big")


def check(attachment: Attachment) -> str:
    """The Gemini MIME type of an acceptable attachment; raises MediaRefused before any download."""
    mime = gemini_type(attachment.mime_type)
    expected = {"audio": AUDIO_TYPES, "image": IMAGE_TYPES}.get(attachment.kind, frozenset())
    if mime not in expected:
        shown = attachment.name or attachment.mime_type or "unknown type"
        raise MediaRefused(UNSUPPORTED_TYPE.format(mime=shown), "unsupported")
    if attachment.kind == "audio":
        if attachment.seconds is not None and attachment.seconds > MAX_SECONDS:
            raise MediaRefused(TOO_LONG.format(seconds=_duration(attachment.seconds)), "too_long")
        if attachment.seconds is None and (attachment.size or 0) > MAX_BYTES_UNTIMED:
            raise MediaRefused(UNTIMED_TOO_BIG, "too_long")
    if attachment.size is not None and attachment.size > MAX_BYTES:
        raise too_big(attachment.size)
    return mime


async def load(attachment: Attachment) -> bytes:
    """Download the attachment and hold it to the size limit whatever the platform said."""
    data = await attachment.fetch()
    if not data:
        raise MediaUnavailable("That file arrived empty. Please send it again.")
    if len(data) > MAX_BYTES:
        raise too_big(len(data))
    return data


@dataclass
class MediaTurn:
    """One downloaded attachment and its caption, as the user content of a turn."""

    kind: str
    mime_type: str
    data: bytes
    caption: str = ""
    transcript: str | None = None  # the model's transcript line, once it has written one
    answered: bool = False  # the model answered the turn (else it timed out or was unreachable)
    _content: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def content(self) -> dict[str, Any]:
        """The user content to send: the bytes inline, then what to do with them, then the caption."""
        blob = {"inline_data": {"mime_type": self.mime_type, "data": self.data}}
        if self.kind == "audio":
            ask = LISTEN
        else:
            ask = LOOK.format(caption=" with this caption" if self.caption else "")
        self._content = {"role": "user", "parts": [blob, {"text": ask}, *self._caption_parts()]}
        return self._content

    def _caption_parts(self) -> list[dict[str, Any]]:
        return [{"text": self.caption}] if self.caption else []

    def remembered(self) -> str:
        """What the history keeps of this message: never the bytes."""
        if self.kind == "image":
            return f"[photo] {self.caption}".strip()
        line = self.transcript or (NO_TRANSCRIPT if self.answered else NOT_HEARD)
        return f"{line}\n{self.caption}" if self.caption else line

    def hear(self, text: str) -> None:
        """Take the transcript line from a model response; then swap the audio in the content for it."""
        if self.kind != "audio" or self.transcript is not None:
            return
        line = transcript_line(text)
        if line is None:
            return
        self.transcript = line
        # Later round trips of the turn carry the words, not the recording.
        self._content["parts"] = [{"text": line}, *self._caption_parts()]

    def lead(self, answer: str) -> str:
        """The answer beginning with the transcript line (once), so a mishearing shows at once."""
        if self.kind != "audio" or (self.transcript is None and not self.answered):
            return answer
        first, _, rest = answer.partition("\n")
        if transcript_line(first) is not None:
            answer = rest.strip()
        return f"{self.transcript or NO_TRANSCRIPT}\n\n{answer}".strip()


def transcript_line(text: str) -> str | None:
    """``🎙 "words"`` from the first line of ``text`` when it is a transcript line, else None."""
    first = text.strip().split("\n", 1)[0]
    match = _LINE.match(first)
    if match is None:
        return None
    words = match.group("words").strip().strip('"“”').strip()[:_TRANSCRIPT_CHARS]
    return f'🎙 "{words}"' if words else None
