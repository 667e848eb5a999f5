"""The Markdown a model typically answers with, and a check that none of its markup reached the reader."""

from __future__ import annotations

import re

MODEL_MARKDOWN = """## Your week <b>at a glance</b>

**Key session:** Thursday's *threshold* ride & a ~~long~~ short recovery run.
Keep power < 200 W and HR > 140 bpm in `Z2 & Z3`, see [Intervals.icu](https://intervals.icu/?w=1&d=2).
<script>alert("hi")</script>

- Monday: **rest**
- Tuesday: easy spin
  * 60 min at *Z2*
  * cadence > 90
1. Warm up 15 min
2. 3 × 10 min at threshold

> Listen to your body: **sleep** comes first.

| Day | Workout | Minutes |
|-----|---------|--------:|
| Thu | Threshold & tempo | 75 |
| Sat | Long ride | 180 |

```python
if hr > 150 and watts < 200:
    print("<easy> & steady")
```
"""

# Words of MODEL_MARKDOWN that must reach the reader, markup or not around them.
WORDS = ("Your week", "Key session:", "threshold", "Intervals.icu", 'alert("hi")', "Warm up", "Long ride")


def markup_left(visible: str) -> list[str]:
    """The Markdown markup still in ``visible`` (what the reader sees); empty when all was rendered."""
    patterns = {
        "**": r"\*\*",
        "##": r"(?m)^#+ ",
        "list asterisk": r"(?m)^\s*[*-] ",
        "backtick": r"`",
        "~~": r"~~",
        "table bar row": r"(?m)^\|",
        "link syntax": r"\]\(",
    }
    return [name for name, pattern in patterns.items() if re.search(pattern, visible)]
