"""Where to cut a long text into pieces that fit a limit: at a blank line, else a line end, else a space."""

from __future__ import annotations

from collections.abc import Callable

_SEPARATORS = ("\n\n", "\n", " ")


def cut_points(text: str, limit: int, size: Callable[[str], int] = len) -> list[tuple[int, int]]:
    """(start, end) spans of ``text``, each with ``size`` at most ``limit``, trimmed of the breaks between.

    A separator counts only past the first third of the window, so pieces don't come out tiny;
    with none there (one enormous word) the cut falls at the limit.
    """
    spans: list[tuple[int, int]] = []
    start, total = 0, len(text)
    while start < total:
        while start < total and text[start] == "\n":
            start += 1
        end = min(total, start + limit)
        while end - start > 1 and (over := size(text[start:end]) - limit) > 0:  # escaping lengthened it
            end -= over
        resume = end
        if end < total:
            window = text[start:end]
            for separator in _SEPARATORS:
                at = window.rfind(separator)
                if at > len(window) // 3:
                    end, resume = start + at, start + at + len(separator)
                    break
        trimmed = end
        while trimmed > start and text[trimmed - 1] in " \n":
            trimmed -= 1
        if trimmed > start:
            spans.append((start, trimmed))
        start = resume
    return spans
