"""Voice notes, audio files and pictures in a Telegram message, as core's Attachment.

The file is fetched only when core asks for it (after access, limits and budgets): the Bot API's
getFile, then the file URL it names. Telegram hands bots files of at most 20 MB that way.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable

from telegram import Audio, Bot, Message, Voice
from telegram.error import TelegramError

from core.conversation.media import MediaUnavailable, kind_of
from core.messages import Attachment

GONE = "I couldn't download that file from Telegram. Please send it again."


def _fetcher(bot: Bot, file_id: str) -> Callable[[], Awaitable[bytes]]:
    async def fetch() -> bytes:
        try:
            file = await bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            raise MediaUnavailable(GONE) from exc

    return fetch


def _seconds(recording: Voice | Audio) -> float:
    # to_dict() gives the wire value in seconds; the attribute is int or timedelta depending on
    # PTB_TIMEDELTA and warns about the change either way.
    return float(recording.to_dict()["duration"])


def _guess(name: str | None, declared: str | None) -> str:
    return declared or (mimetypes.guess_type(name)[0] if name else None) or ""


def attachment(message: Message) -> Attachment | None:
    """The voice note, audio file, photo or document of ``message``; None for anything else."""
    bot = message.get_bot()
    if message.voice is not None:
        voice = message.voice
        # Telegram records voice notes as OGG/Opus; the type is optional in the update.
        return Attachment(
            "audio",
            voice.mime_type or "audio/ogg",
            voice.file_size,
            _fetcher(bot, voice.file_id),
            _seconds(voice),
        )
    if message.audio is not None:
        audio = message.audio
        mime = _guess(audio.file_name, audio.mime_type)
        fetch = _fetcher(bot, audio.file_id)
        return Attachment("audio", mime, audio.file_size, fetch, _seconds(audio), audio.file_name or "")
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        # Telegram re-encodes every photo it delivers as JPEG.
        return Attachment("image", "image/jpeg", largest.file_size, _fetcher(bot, largest.file_id))
    if message.document is not None:
        document = message.document
        mime = _guess(document.file_name, document.mime_type)
        fetch = _fetcher(bot, document.file_id)
        return Attachment(kind_of(mime), mime, document.file_size, fetch, name=document.file_name or "")
    return None
