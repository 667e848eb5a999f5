"""RepliesFirst: "typing…" only from spare flood budget, never ahead of replies (real PTB, fake Telegram)."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.constants import ChatAction
from telegram.ext import ExtBot

from bot.telegram_rate import RepliesFirst
from tests.fakes.telegram import FakeTelegram

CHAT = 4242


def make_bot(fake: FakeTelegram, limiter: RepliesFirst) -> ExtBot[Any]:
    return ExtBot(
        fake.token, base_url=fake.api_url(), base_file_url=f"{fake.url}/file/bot", rate_limiter=limiter
    )


async def test_chat_actions_are_skipped_while_replies_wait_for_the_budget(
    fake_telegram: FakeTelegram,
) -> None:
    async with make_bot(fake_telegram, RepliesFirst(overall_max_rate=4, overall_time_period=1)) as bot:
        replies = [asyncio.create_task(bot.send_message(CHAT + n, f"reply {n}")) for n in range(8)]
        await asyncio.sleep(0.05)  # four have gone; the next may go a quarter of a second later

        assert await bot.send_chat_action(CHAT, ChatAction.TYPING) is False
        await asyncio.gather(*replies)
        await asyncio.sleep(0.6)  # the bucket drains: spare budget again
        assert await bot.send_chat_action(CHAT, ChatAction.TYPING) is True

    assert len(fake_telegram.sent()) == 8 and fake_telegram.flooded == 0
    [action] = fake_telegram.calls_of("sendChatAction")
    assert action.at > max(c.at for c in fake_telegram.calls_of("sendMessage"))


async def test_chat_actions_leave_half_the_budget_to_replies(fake_telegram: FakeTelegram) -> None:
    # 4 a budget that drains only 0.4 a second, so the levels below hold while the test runs.
    async with make_bot(fake_telegram, RepliesFirst(overall_max_rate=4, overall_time_period=10)) as bot:
        for n in range(2):
            await bot.send_message(CHAT, f"reply {n}")
        assert await bot.send_chat_action(CHAT, ChatAction.TYPING) is True  # 2 of 4 used: half free
        assert await bot.send_chat_action(CHAT, ChatAction.TYPING) is False  # 3 of 4 used
        await bot.send_message(CHAT, "a reply still goes at once")

    assert len(fake_telegram.calls_of("sendChatAction")) == 1
    assert [m["text"] for m in fake_telegram.sent(CHAT)][-1] == "a reply still goes at once"


async def test_no_chat_actions_in_groups(fake_telegram: FakeTelegram) -> None:
    async with make_bot(fake_telegram, RepliesFirst()) as bot:
        assert await bot.send_chat_action(-1001234, ChatAction.TYPING) is False
    assert fake_telegram.calls_of("sendChatAction") == []
