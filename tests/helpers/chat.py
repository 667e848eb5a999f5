"""Incoming messages and button presses of a Telegram athlete, as core receives them."""

from __future__ import annotations

import datetime as dt

from core.clock import day_of_week
from core.messages import Incoming, Reply
from tests.helpers.clock import today


def said(user: str, words: str) -> Incoming:
    """``user`` writes ``words``."""
    return Incoming("telegram", f"u-{user}", f"c-{user}", text=words, user_name=user)


def pressed(user: str, reply: Reply, label: str) -> Incoming:
    """``user`` presses the button labelled ``label`` under ``reply``."""
    [button] = [b for b in reply.buttons if b.label == label]
    return Incoming("telegram", f"u-{user}", f"c-{user}", action=button.action, user_name=user)


def next_weekday(weekday: int, after: dt.date | None = None) -> dt.date:
    """The first date after ``after`` (default today) on the design weekday ``weekday`` (0 = Sunday)."""
    day = (after or today()) + dt.timedelta(days=1)
    while day_of_week(day) != weekday:
        day += dt.timedelta(days=1)
    return day
