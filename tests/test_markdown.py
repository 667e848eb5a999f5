"""The Markdown renderers on their own: Telegram HTML checked by the fake's tdlib-faithful parser,
Slack markdown-block pieces, plain text for the terminal."""

from __future__ import annotations

import pytest

from bot.markdown import plain, slack_markdown, telegram_html
from bot.markdown.cut import cut_points
from tests.fakes import telegram_html as telegram_parser
from tests.helpers.markdown import MODEL_MARKDOWN, WORDS, markup_left


def shown(html: str) -> tuple[str, set[str]]:
    """What Telegram shows for ``html`` and the kinds of entity in it (raises if Telegram would refuse it)."""
    text, entities = telegram_parser.parse(html)
    return text, {e["type"] + (f":{e['language']}" if "language" in e else "") for e in entities}


def test_markdown_becomes_telegram_html() -> None:
    [html] = telegram_html.render(MODEL_MARKDOWN)
    text, kinds = shown(html)
    assert markup_left(text) == [] and all(word in text for word in WORDS)
    assert kinds == {
        "bold",
        "italic",
        "strikethrough",
        "code",
        "text_link",
        "blockquote",
        "pre",
        "pre:python",
    }
    assert "• Monday: rest\n• Tuesday: easy spin\n    • 60 min at Z2\n    • cadence > 90" in text
    assert "1. Warm up 15 min\n2. 3 × 10 min at threshold" in text
    assert "Thu | Threshold & tempo |      75" in text  # the table, aligned, in a <pre>
    # The model's HTML is text, escaped; nothing of it is interpreted.
    assert '<script>alert("hi")</script>' in text and "&lt;script&gt;" in html
    assert "<b>Your week &lt;b&gt;at a glance&lt;/b&gt;</b>" in html
    assert '<a href="https://intervals.icu/?w=1&amp;d=2">Intervals.icu</a>' in html


@pytest.mark.parametrize("limit", [17, 40, 64, 150, 4096])
def test_markdown_split_for_telegram_keeps_every_part_valid(limit: int) -> None:
    markdown = MODEL_MARKDOWN + "\n\n" + "**A bold run that goes on & on <and on>** " * 30
    parts = telegram_html.render(markdown, limit)
    texts = [shown(p)[0] for p in parts]  # each part parses on its own
    assert all(0 < len(t) <= limit for t in texts)
    [whole] = telegram_html.render(markdown, 100_000)
    assert "".join("".join(texts).split()) == "".join(shown(whole)[0].split())  # nothing lost or doubled
    if limit < 4096:
        assert len(parts) > 1


def test_markdown_split_reopens_formatting_in_the_next_part() -> None:
    code = "\n".join(f"zone_{i} = {i} < {i + 1}" for i in range(600))  # about 12,000 characters
    parts = telegram_html.render(f"Intro with **bold & more bold**\n\n```python\n{code}\n```")
    assert len(parts) >= 3
    for part in parts[1:]:
        text, kinds = shown(part)
        assert part.startswith('<pre><code class="language-python">') and kinds == {"pre:python"}
        assert len(text) <= 4096
    assert "".join(shown(p)[0] for p in parts).count("<") == 600


def test_markdown_split_keeps_each_part_within_100_entities() -> None:
    markdown = "\n".join(f"- **Day {i}**: *easy* ride" for i in range(120))  # 240 entities, 3,000 characters
    parts = telegram_html.render(markdown)
    kinds = [telegram_parser.parse(p)[1] for p in parts]
    assert len(parts) >= 3 and all(len(k) <= 100 for k in kinds)
    assert sum(len(k) for k in kinds) == 240  # Telegram would have dropped the formatting past the 100th


def test_markdown_split_counts_characters_not_utf16_units() -> None:
    parts = telegram_html.render("🚴" * 5000)
    assert [len(shown(p)[0]) for p in parts] == [4096, 904]


def test_markdown_as_plain_text() -> None:
    text = plain.render(MODEL_MARKDOWN)
    assert markup_left(text) == [] and all(word in text for word in WORDS)
    assert "see Intervals.icu (https://intervals.icu/?w=1&d=2)." in text
    assert '<script>alert("hi")</script>' in text and "Listen to your body: sleep comes first." in text
    assert (
        plain.render("<https://e.com> and [e.com](https://e.com)")
        == "https://e.com and e.com (https://e.com)"
    )


def test_markdown_for_slack_blocks() -> None:
    [piece] = slack_markdown.chunks(MODEL_MARKDOWN)
    escaped = slack_markdown.escape(piece)
    assert "<" not in escaped and "&lt;script>" in escaped  # no Slack token can start
    assert "[Intervals.icu](https://intervals.icu/?w=1&d=2)" in escaped  # an address keeps its &
    # Tables aren't rendered by Slack's markdown block, languages after a fence show as text: both go.
    assert "```\nDay | Workout           | Minutes\n" in piece and "| Thu |" not in piece
    assert "```python" not in piece and "**Key session:**" in piece and "> Listen" in piece
    assert slack_markdown.escape_mrkdwn("a & <b>") == "a &amp; &lt;b&gt;"


def test_markdown_for_slack_is_cut_between_blocks() -> None:
    paragraphs = [f"Paragraph {i}: " + "<watts> & cadence " * 40 for i in range(30)]
    pieces = slack_markdown.chunks("\n\n".join(paragraphs), limit=3000)
    assert all(len(slack_markdown.escape(p)) <= 3000 for p in pieces)
    assert [p.strip() for piece in pieces for p in piece.split("\n\n")] == [p.strip() for p in paragraphs]


def test_markdown_for_slack_fences_each_piece_of_a_long_code_block() -> None:
    code = "\n".join(f"x{i} = {i} < {i + 1}" for i in range(600))
    pieces = slack_markdown.chunks(f"Here:\n\n```python\n{code}\n```\n\nDone.", limit=2000)
    assert len(pieces) > 3 and all(len(slack_markdown.escape(p)) <= 2000 for p in pieces)
    fenced = [p for p in pieces if p.startswith("```")]
    assert all(p.startswith("```\n") and p.endswith("\n```") for p in fenced)
    lines = [line for p in fenced for line in p.split("\n") if line != "```"]
    assert lines == code.split("\n")
    assert pieces[0] == "Here:" and pieces[-1].endswith("Done.")


def test_cut_points_prefer_blank_lines_then_lines_then_spaces() -> None:
    text = "aaaa bbbb\ncccc dddd\n\neeee"
    assert [text[a:b] for a, b in cut_points(text, 12)] == ["aaaa bbbb", "cccc dddd", "eeee"]
    word = "x" * 25
    assert [word[a:b] for a, b in cut_points(word, 10)] == ["x" * 10, "x" * 10, "x" * 5]
    assert cut_points("\n\n  \n", 10) == []
