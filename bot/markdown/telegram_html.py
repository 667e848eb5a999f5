"""The model's Markdown as Telegram HTML messages, each valid on its own and within Telegram's limit.

Telegram's HTML parse mode knows only a few tags (b i u s code pre a blockquote and a few aliases),
wants every other <, > and & escaped, and counts a message's length in characters after parsing,
at most 4096. Splitting works on the visible text, so a cut never lands inside a tag or an entity;
each part closes the tags open at its end, and the next part opens them again.
"""

from __future__ import annotations

import html

from bot.markdown.cut import cut_points
from bot.markdown.document import Run, Style, runs

LIMIT = 4096  # characters of visible text per message (Bot API: "1-4096 characters after entities parsing")
MAX_ENTITIES = 100  # Telegram keeps a message's first 100 entities and silently drops the rest


def render(markdown: str, limit: int = LIMIT) -> list[str]:
    """``markdown`` as one or more HTML messages of at most ``limit`` visible characters each."""
    return [to_html(part) for part in split(runs(markdown), limit)]


def escape(text: str) -> str:
    """Plain text for HTML parse mode (quotes stay: Telegram needs them escaped in attributes only)."""
    return html.escape(text, quote=False)


def to_html(parts: list[Run]) -> str:
    """Runs as HTML, tags opened and closed so they nest properly."""
    out: list[str] = []
    for closed, opened, text in _transitions(parts):
        out.extend(_close(s) for s in closed)
        out.extend(_open(s) for s in opened)
        out.append(escape(text))
    return "".join(out)


def split(parts: list[Run], limit: int) -> list[list[Run]]:
    """Runs cut into messages of at most ``limit`` visible characters, at blank lines, lines or spaces,
    and of at most MAX_ENTITIES entities, so no formatting is dropped."""
    text = "".join(r.text for r in parts)
    pieces = []
    for start, end in cut_points(text, limit):
        piece = _slice(parts, start, end)
        if _entities(piece) > MAX_ENTITIES and end - start > 1:
            pieces.extend(split(piece, (end - start) // 2))
        elif piece:
            pieces.append(piece)
    return pieces


def _transitions(parts: list[Run]) -> list[tuple[list[Style], list[Style], str]]:
    """For each run, the styles to close, the styles to open, then its text (a last step closes all)."""
    steps = []
    open_: list[Style] = []
    for run in parts:
        keep = 0
        while keep < min(len(open_), len(run.styles)) and open_[keep] == run.styles[keep]:
            keep += 1
        steps.append((list(reversed(open_[keep:])), list(run.styles[keep:]), run.text))
        open_ = list(run.styles)
    steps.append((list(reversed(open_)), [], ""))
    return steps


def _entities(parts: list[Run]) -> int:
    return sum(len(opened) for _, opened, _ in _transitions(parts))


def _slice(parts: list[Run], start: int, end: int) -> list[Run]:
    """The runs covering text[start:end]."""
    out, offset = [], 0
    for run in parts:
        a, b = max(start, offset), min(end, offset + len(run.text))
        if a < b:
            out.append(Run(run.text[a - offset : b - offset], run.styles))
        offset += len(run.text)
    return out


def _open(style: Style) -> str:
    if style.tag == "a":
        return f'<a href="{html.escape(style.value, quote=True)}">'
    if style.tag == "pre" and style.value:
        return f'<pre><code class="language-{style.value}">'
    return f"<{style.tag}>"


def _close(style: Style) -> str:
    return "</code></pre>" if style.tag == "pre" and style.value else f"</{style.tag}>"
