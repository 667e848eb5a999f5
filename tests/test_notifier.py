"""The notifier: one push reaches every platform where the athlete has an identity."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from peewee import Database

from bot import notifier as notifier_module
from bot.notifier import Notifier
from core.messages import Button, Reply
from storage.models import Athlete, ChatIdentity
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.test_startup import free_port


def athlete_on_both() -> Athlete:
    athlete = Athlete.create(name="Ann")
    ChatIdentity.create(athlete=athlete, platform="telegram", platform_user_id="9", chat_id="9")
    ChatIdentity.create(athlete=athlete, platform="slack", platform_user_id="U9", chat_id="D9")
    return athlete


async def test_notice_with_a_button_reaches_telegram_and_slack(
    db: Database, fake_telegram: FakeTelegram, fake_slack: FakeSlack, notifier: Notifier
) -> None:
    athlete = athlete_on_both()
    loner = Athlete.create(name="Ben")
    notice = Reply("Sync failed for 'Tempo'.", buttons=(Button("Retry now", "a:abcdefghij:yes"),))
    assert await notifier.notify(athlete.id, notice) == 2
    assert await notifier.notify(loner.id, notice) == 0

    [telegram] = fake_telegram.sent(9)
    assert telegram["raw_text"] == "Sync failed for 'Tempo'."
    assert telegram["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a:abcdefghij:yes"
    [slack] = fake_slack.messages("D9")
    buttons = [e for b in slack["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["text"]["text"], b["value"]) for b in buttons] == [("Retry now", "a:abcdefghij:yes")]


async def test_one_platform_down_does_not_stop_the_other(
    db: Database, fake_telegram: FakeTelegram, fake_slack: FakeSlack, notifier: Notifier
) -> None:
    athlete = athlete_on_both()
    fake_slack.fail_next("chat.postMessage", error="internal_error", status=500)
    assert await notifier.notify(athlete.id, Reply("Plan ready.")) == 1
    assert [m["raw_text"] for m in fake_telegram.sent(9)] == ["Plan ready."]


async def test_platforms_that_do_not_answer_at_start_are_waited_for(
    db: Database,
    fake_slack: FakeSlack,
    notifier_settings: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(notifier_module, "RECHECK_SECONDS", (0.05,))
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    settings = notifier_settings.model_copy(update={"telegram_api_base_url": nothing_listens})
    fake_slack.fail_next("auth.test", error="internal_error", status=500)
    athlete = athlete_on_both()
    caplog.set_level(logging.WARNING, logger="bot.notifier")

    n = Notifier(settings)
    await n.start()  # neither is a StartupError
    try:
        said = [r for r in caplog.records if "Starting anyway" in r.getMessage()]
        assert [r.exc_info for r in said] == [None, None]
        assert (
            f"Telegram Bot API is not reachable at {nothing_listens} (NetworkError)" in said[0].getMessage()
        )
        assert f"Slack is not reachable at {fake_slack.url}/ (HTTP 500)" in said[1].getMessage()
        assert n.waiting and await n.notify(athlete.id, Reply("Plan ready.")) == 0
        assert fake_slack.messages("D9") == []

        async with asyncio.timeout(5):  # Slack is back at the next check; Telegram stays away
            while await n.notify(athlete.id, Reply("Plan ready.")) == 0:
                await asyncio.sleep(0.02)
        assert [m["text"] for m in fake_slack.messages("D9")] == ["Plan ready."]
        assert n.waiting
    finally:
        await n.aclose()
