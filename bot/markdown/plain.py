"""The model's Markdown as plain text (the terminal, notification previews): no markup characters left."""

from __future__ import annotations

from bot.markdown.document import Run, runs


def render(markdown: str) -> str:
    """``markdown`` as readable plain text; a link shows its address after its label."""
    return text_of(runs(markdown))


def text_of(parts: list[Run]) -> str:
    """The runs' text, each link followed by its address unless the label already is the address."""
    out: list[str] = []
    for i, run in enumerate(parts):
        out.append(run.text)
        link = next((s.value for s in run.styles if s.tag == "a"), "")
        follows = parts[i + 1].styles if i + 1 < len(parts) else ()
        if link and not any(s.tag == "a" and s.value == link for s in follows):
            label = "".join(r.text for r in _link_runs(parts, i, link))
            if label.strip() != link and link.removeprefix("mailto:") != label.strip():
                out.append(f" ({link})")
    return "".join(out)


def _link_runs(parts: list[Run], last: int, link: str) -> list[Run]:
    """The runs of the link ending at ``last``."""
    first = last
    while first > 0 and any(s.tag == "a" and s.value == link for s in parts[first - 1].styles):
        first -= 1
    return parts[first : last + 1]
