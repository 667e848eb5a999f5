"""Platform text helpers: escaping and splitting long replies at paragraph boundaries."""

from __future__ import annotations

import html
import re

TELEGRAM_LIMIT = 4096
SLACK_LIMIT = 3000  # a section block's text; messages are split into several sections/messages


def split(text: str, limit: int) -> list[str]:
    """Chunks of at most ``limit`` characters, cut at paragraph, then line, then word boundaries."""
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), 0)
        if cut < limit // 3:
            cut = window.rfind("\n")
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut < limit // 3:
            cut = limit  # one enormous word: cut it
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest.strip():
        chunks.append(rest)
    return [c for c in chunks if c.strip()]


_BOLD = re.compile(r"\*\*(.+?)\*\*")


def telegram_html(text: str) -> str:
    """Escape for Telegram's HTML parse mode, keeping the model's **bold** as <b>."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))


def slack_mrkdwn(text: str) -> str:
    """Escape for Slack mrkdwn (only &, <, > are special), keeping **bold** as *bold*."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BOLD.sub(r"*\1*", escaped)


def split_html(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split plain text so that each chunk, once escaped to HTML, fits the limit and is valid."""
    # Escaping can lengthen text (&amp;); split the plain text with headroom, then escape each.
    chunks = []
    for piece in split(text, limit):
        rendered = telegram_html(piece)
        if len(rendered) <= limit:
            chunks.append(rendered)
        else:
            chunks.extend(telegram_html(p) for p in split(piece, limit // 2))
    return chunks
