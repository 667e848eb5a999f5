"""The model's Markdown as each platform shows text: Telegram HTML, Slack markdown blocks, plain text.

One parser (markdown-it-py, raw HTML off, so HTML the model writes stays text) reads the Markdown
into styled runs (``document``); each platform module renders and splits them its own way.
"""
