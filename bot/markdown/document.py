"""Markdown to a flat list of styled text runs, the form every renderer starts from.

Block structure becomes text: headings are bold lines, list items start with "•" or their
number (indented when nested), tables are aligned columns in a preformatted block, and blocks
are separated by blank lines. What stays is inline style: bold, italic, strikethrough, code,
links, preformatted blocks and quotes, each run carrying the styles around it, outermost first.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

# CommonMark plus GitHub tables and ~~strike~~; "html": False keeps the model's HTML as plain text.
PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
BULLET, RULE = "•", "———"
_INLINE_STYLES = {"strong": "b", "em": "i", "s": "s"}
_LANGUAGE = re.compile(r"^[A-Za-z0-9_+#-]{1,32}$")


class Style(NamedTuple):
    """One style around a run: b, i, s, code, pre, blockquote or a (``value`` is the href or language)."""

    tag: str
    value: str = ""


class Run(NamedTuple):
    """Visible text and the styles around it, outermost first."""

    text: str
    styles: tuple[Style, ...] = ()


def parse(markdown: str) -> SyntaxTreeNode:
    """The syntax tree of ``markdown``."""
    return SyntaxTreeNode(PARSER.parse(markdown))


def runs(markdown: str) -> list[Run]:
    """``markdown`` as styled runs; their texts joined are what the reader sees."""
    builder = _Builder()
    builder.blocks(parse(markdown).children, ())
    return builder.runs


def inline_text(node: SyntaxTreeNode) -> str:
    """The visible text of an inline node (a table cell, an image's alt text), without styles."""
    builder = _Builder()
    builder.inline(node, ())
    return "".join(r.text for r in builder.runs)


def table_lines(table: SyntaxTreeNode) -> list[str]:
    """A table as lines of aligned columns, a rule under the header row."""
    rows: list[list[tuple[str, str]]] = []
    for section in table.children:
        for row in section.children:
            cells = []
            for cell in row.children:
                align = str(cell.attrs.get("style", "")).removeprefix("text-align:")
                cells.append((" ".join(inline_text(cell).split()), align))
            rows.append(cells)
    width = max(len(r) for r in rows)
    rows = [r + [("", "")] * (width - len(r)) for r in rows]
    widths = [max(len(r[i][0]) for r in rows) for i in range(width)]
    lines = [" | ".join(_aligned(text, widths[i], align) for i, (text, align) in enumerate(r)) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return [line.rstrip() for line in lines]


def _aligned(text: str, width: int, align: str) -> str:
    if align == "right":
        return text.rjust(width)
    return text.center(width) if align == "center" else text.ljust(width)


class _Builder:
    """Walks the tree, appending runs; blank lines between blocks are added lazily, so none trail."""

    def __init__(self) -> None:
        self.runs: list[Run] = []
        self._gap = 0  # newlines owed before the next text
        self._same_line = False  # the next block continues a list item's first line

    def text(self, text: str, styles: tuple[Style, ...]) -> None:
        if not text:
            return
        if self.runs and self._gap:
            # The break belongs inside a quote or code block that spans it, so the entity stays whole.
            shared = _common_prefix(self.runs[-1].styles, styles)
            self.runs.append(
                Run("\n" * self._gap, tuple(s for s in shared if s.tag in {"blockquote", "pre"}))
            )
        self._gap, self._same_line = 0, False
        self.runs.append(Run(text, styles))

    def gap(self, newlines: int) -> None:
        if not self._same_line:
            self._gap = max(self._gap, newlines)

    def blocks(self, nodes: list[SyntaxTreeNode], styles: tuple[Style, ...], depth: int = 0) -> None:
        for node in nodes:
            self.block(node, styles, depth)

    def block(self, node: SyntaxTreeNode, styles: tuple[Style, ...], depth: int) -> None:
        kind = node.type
        quoted = any(s.tag == "blockquote" for s in styles)
        if kind == "paragraph":
            self.gap(1 if node.hidden else 2)  # hidden: a paragraph of a tight list
            self.inline(node.children[0], styles)
        elif kind == "heading":
            self.gap(2)
            self.inline(node.children[0], (*styles, Style("b")))
        elif kind in {"bullet_list", "ordered_list"}:
            self.gap(1 if depth else 2)
            self.list(node, styles, depth)
        elif kind == "blockquote":
            self.gap(2)
            # Telegram can't nest quotes: an inner quote joins the outer one.
            self.blocks(node.children, styles if quoted else (*styles, Style("blockquote")), depth)
        elif kind in {"fence", "code_block"}:
            self.gap(2)
            self.text(node.content.rstrip("\n"), styles if quoted else (*styles, _pre(node.info)))
        elif kind == "table":
            self.gap(2)
            self.text("\n".join(table_lines(node)), styles if quoted else (*styles, Style("pre")))
        elif kind == "hr":
            self.gap(2)
            self.text(RULE, styles)
        else:  # html_block can't occur with html off; anything newer is shown by its text
            self.gap(2)
            self.text(node.content, styles)

    def list(self, node: SyntaxTreeNode, styles: tuple[Style, ...], depth: int) -> None:
        loose = any(not p.hidden for item in node.children for p in item.children if p.type == "paragraph")
        for item in node.children:
            self.gap(2 if loose else 1)
            marker = f"{item.info}{item.markup}" if node.type == "ordered_list" else BULLET
            self.text(f"{'    ' * depth}{marker} ", styles)
            self._same_line = True
            self.blocks(item.children, styles, depth + 1)
            self._same_line = False

    def inline(self, node: SyntaxTreeNode, styles: tuple[Style, ...]) -> None:
        for child in node.children:
            kind = child.type
            if kind == "text":
                self.text(child.content, styles)
            elif kind in {"softbreak", "hardbreak"}:
                self.text("\n", styles)
            elif kind == "code_inline":
                # Telegram allows no entity inside a link but the formatting ones.
                linked = any(s.tag == "a" for s in styles)
                self.text(child.content, styles if linked else (*styles, Style("code")))
            elif kind in _INLINE_STYLES:
                self.inline(child, (*styles, Style(_INLINE_STYLES[kind])))
            elif kind == "link":
                self.inline(child, (*styles, Style("a", str(child.attrs.get("href", "")))))
            elif kind == "image":
                alt = inline_text(child) or str(child.attrs.get("src", ""))
                self.text(alt, (*styles, Style("a", str(child.attrs.get("src", "")))))
            else:
                self.text(child.content, styles)


def _pre(info: str) -> Style:
    language = info.split()[0] if info.strip() else ""
    return Style("pre", language if _LANGUAGE.match(language) else "")


def _common_prefix(a: tuple[Style, ...], b: tuple[Style, ...]) -> tuple[Style, ...]:
    shared = []
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared.append(x)
    return tuple(shared)
