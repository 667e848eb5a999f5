"""An audio clip, audio file or picture shared in a Slack message, as core's Attachment.

``files.info`` (through the bolt client, scope files:read) says what the file is; its bytes come
from ``url_private`` with the bot token as a bearer token, only when core asks for them (after
access, limits and budgets).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.conversation.media import MAX_BYTES, MediaUnavailable, kind_of, too_big
from core.messages import Attachment

logger = logging.getLogger(__name__)

GONE = "I couldn't download that file from Slack. Please share it again."
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=60)


def _kind(file: dict[str, Any]) -> tuple[str, str]:
    """("audio" | "image" | "file", MIME type) of a Slack file object."""
    mime = str(file.get("mimetype") or "")
    if file.get("subtype") == "slack_audio" and mime in ("", "video/mp4"):
        mime = "audio/mp4"  # Slack's clip recorder sometimes labels its m4a audio as video
    return kind_of(mime), mime


async def _describe(client: AsyncWebClient, shared: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict((await client.files_info(file=shared["id"]))["file"])
    except SlackApiError as exc:
        # missing_scope means the app lacks files:read (slack-manifest.yml); the event's copy may do.
        logger.warning("slack: files.info failed: %s", exc.response.get("error"))
    except (aiohttp.ClientError, TimeoutError) as exc:
        logger.warning("slack: files.info failed: %s", type(exc).__name__)
    return shared


def _fetcher(token: str, url: str) -> Callable[[], Awaitable[bytes]]:
    async def fetch() -> bytes:
        if not url:
            raise MediaUnavailable(GONE)
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with aiohttp.ClientSession(timeout=DOWNLOAD_TIMEOUT) as session:
                async with session.get(url, headers=headers, allow_redirects=False) as response:
                    # Without valid auth Slack answers with a redirect or its HTML sign-in page.
                    if response.status != 200 or response.content_type == "text/html":
                        logger.warning("slack: file download answered %s", response.status)
                        raise MediaUnavailable(GONE)
                    data = bytearray()
                    async for chunk in response.content.iter_chunked(64 * 1024):
                        data += chunk
                        if len(data) > MAX_BYTES:
                            raise too_big(len(data))
                    return bytes(data)
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("slack: file download failed: %s", type(exc).__name__)
            raise MediaUnavailable(GONE) from exc

    return fetch


async def attachment(client: AsyncWebClient, event: dict[str, Any]) -> Attachment | None:
    """The first file shared in ``event``, described by files.info; None when it shares none."""
    files = event.get("files") or []
    if not files:
        return None
    if len(files) > 1:
        logger.info("slack: %d files in one message; reading the first", len(files))
    file = await _describe(client, files[0])
    kind, mime = _kind(file)
    duration = file.get("duration_ms")
    url = str(file.get("url_private_download") or file.get("url_private") or "")
    return Attachment(
        kind,
        mime,
        file.get("size"),
        _fetcher(str(client.token), url),
        seconds=duration / 1000 if isinstance(duration, int | float) else None,
        name=str(file.get("name") or ""),
    )
