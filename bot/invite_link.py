"""The Telegram deep link that carries an invitation: https://t.me/<bot username>?start=CODE."""

from __future__ import annotations

from telegram import Bot


def api_urls(base_url: str | None) -> dict[str, str]:
    """PTB's base URLs for a Bot API server other than Telegram's (TELEGRAM_API_BASE_URL)."""
    if not base_url:
        return {}
    root = base_url.rstrip("/")
    return {"base_url": f"{root}/bot", "base_file_url": f"{root}/file/bot"}


async def deep_link(token: str, code: str, base_url: str | None = None) -> str:
    """The link that opens the bot and sends ``/start CODE``; the username comes from Telegram (getMe)."""
    async with Bot(token, **api_urls(base_url)) as bot:  # initialize() is the getMe call
        return f"https://t.me/{bot.username}?start={code}"
