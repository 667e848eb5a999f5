"""The notifier: one push reaches every platform where the athlete has an identity."""

from __future__ import annotations

from peewee import Database

from bot.notifier import Notifier
from core.messages import Button, Reply
from storage.models import Athlete, ChatIdentity
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram


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
