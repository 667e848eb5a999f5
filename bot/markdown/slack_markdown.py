"""The model's Markdown for Slack's ``markdown`` block, which renders standard Markdown itself.

What's left to do here: keep Slack from reading the model's text as its own ``<...>`` tokens
(links, mentions, @here), turn tables, which the block doesn't render, into aligned code blocks,
and cut long replies between Markdown blocks so each piece fits one message.
"""

from __future__ import annotations

from markdown_it.tree import SyntaxTreeNode

from bot.markdown.cut import cut_points
from bot.markdown.document import parse, table_lines

# A markdown block holds at most 12,000 characters, and so do all markdown blocks of one message together.
LIMIT = 12_000
FENCE = "```"


def escape(text: str) -> str:
    """Markdown for a markdown block: every < as &lt;, so none starts a Slack token; Slack shows "<".

    > stays, as it starts a Markdown quote and can't start a token; & stays too, since Slack would
    not decode &amp; inside a link's address and every query string would break.
    """
    return text.replace("<", "&lt;")


def escape_mrkdwn(text: str) -> str:
    """Text for a mrkdwn or plain ``text`` field: &, < and > as entities, as Slack's formatting rules say."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped_size(text: str) -> int:
    """How long ``text`` is once escaped."""
    return len(escape(text))


def chunks(markdown: str, limit: int = LIMIT) -> list[str]:
    """Markdown pieces (not yet escaped), each at most ``limit`` characters once escaped, cut between blocks."""
    out: list[str] = []
    current, size = "", 0  # size: escaped_size(current), kept as blocks join (escaping is per character)
    for kind, block in _blocks(markdown):
        block_size = escaped_size(block)
        joined_size = size + 2 + block_size if current else block_size
        if joined_size <= limit:
            current, size = (f"{current}\n\n{block}" if current else block), joined_size
            continue
        if current:
            out.append(current)
        current, size = "", 0
        if block_size <= limit:
            current, size = block, block_size
        else:
            out.extend(_cut_block(kind, block, limit))
    if current.strip():
        out.append(current)
    return out


def _blocks(markdown: str) -> list[tuple[str, str]]:
    """The top-level blocks as (type, source); tables become code blocks, code blocks lose their language."""
    lines = markdown.split("\n")
    spans = [(n, n.map) for n in parse(markdown).children if n.map]
    blocks = []
    for i, (node, (first, last)) in enumerate(spans):
        # A block runs to the next one's first line, so nothing between them (link definitions) is lost.
        start = 0 if i == 0 else first
        end = spans[i + 1][1][0] if i + 1 < len(spans) else len(lines)
        source = "\n".join(lines[start:end]).strip("\n")
        if node.type == "table":
            after = "\n".join(lines[last:end]).strip("\n")
            source = _table_as_code(node) + (f"\n\n{after}" if after else "")
        elif node.type == "fence" and node.info:
            # Slack's block doesn't highlight syntax; a language after the fence would show as text.
            opening, _, rest = source.partition("\n")
            source = f"{opening[: len(opening) - len(opening.lstrip())]}{node.markup}\n{rest}"
        blocks.append((node.type, source))
    return blocks


def _cut_block(kind: str, block: str, limit: int) -> list[str]:
    """One block too long for a message, in pieces; a code block's pieces are each fenced again."""
    if kind != "fence":
        return [block[a:b] for a, b in cut_points(block, limit, escaped_size)]
    first, _, body = block.partition("\n")
    fence = first.strip()
    body = body.rstrip().removesuffix(fence).rstrip("\n")
    room = limit - 2 * (len(fence) + 1)
    return [f"{fence}\n{body[a:b]}\n{fence}" for a, b in cut_points(body, room, escaped_size)]


def _table_as_code(table: SyntaxTreeNode) -> str:
    return "\n".join([FENCE, *table_lines(table), FENCE])
