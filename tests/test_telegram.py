"""The Telegram adapter end to end: real python-telegram-bot against the fake Bot API server."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from peewee import Database
from telegram.ext import ExtBot

from bot import telegram
from core import actions
from core.access.admission import Access
from core.conversation.turn import Coach
from core.messages import Button, Reply
from core.planning import plans, workouts
from core.sync.intervals import IntervalsPool
from storage.models import Athlete, PendingAction, PlannedWorkout, WeeklyTrainingPlan
from tests.fakes.gemini import FakeGemini, call, delay, json_reply, text
from tests.fakes.intervals import FakeIntervals
from tests.fakes.telegram import FakeTelegram
from tests.helpers.clock import today
from tests.helpers.markdown import MODEL_MARKDOWN, WORDS, markup_left
from tests.helpers.plans import generations_used
from tests.helpers.telegram_bot import polling

CHAT = 4242
SOON = today() + dt.timedelta(days=2)


@pytest.fixture
def coach(make_coach: Any) -> Coach:
    # Open, as these tests are about the adapter; tests/test_access.py covers invitations on Telegram.
    return make_coach(policy=Access(mode="open"))


@pytest.fixture
async def app(coach: Coach, fake_telegram: FakeTelegram) -> AsyncIterator[Any]:
    async with polling(coach, fake_telegram) as application:
        yield application


async def linked(fake_intervals: FakeIntervals, chat: int = CHAT) -> int:
    """An athlete behind a Telegram chat, linked to the fake Intervals.icu."""
    from core.access import athletes

    athlete = await athletes.identify("telegram", str(chat), str(chat), name="Ann")
    fake_intervals.add_athlete("i1001", "key-a-0123456789")
    await athletes.link(athlete, "i1001", "key-a-0123456789")
    return athlete


def texts(fake: FakeTelegram) -> list[str]:
    return [m["raw_text"] for m in fake.sent(CHAT)]


async def test_commands_are_registered(app: Any, fake_telegram: FakeTelegram) -> None:
    await fake_telegram.wait_for(lambda f: bool(f.commands))
    assert {c["command"] for c in fake_telegram.commands} >= {"start", "help", "plan", "sync", "connect"}


async def test_text_message_types_calls_a_tool_and_replies_with_sync_status(
    app: Any,
    fake_telegram: FakeTelegram,
    fake_gemini: FakeGemini,
    fake_intervals: FakeIntervals,
    pool: IntervalsPool,
) -> None:
    athlete = await linked(fake_intervals)
    wid = (
        await workouts.create_workout(
            pool, athlete, {"date": SOON.isoformat(), "title": "Tempo <fast> & hard", "type": "Ride"}
        )
    ).data["id"]
    later = SOON + dt.timedelta(days=1)
    fake_gemini.script(
        # Slower than TYPING_AFTER, so the athlete sees "typing…" while the model thinks.
        delay(
            2 * telegram.TYPING_AFTER,
            call("update_planned_workout", {"workout_id": wid, "date": later.isoformat()}),
        ),
        text("Moved **Tempo <fast> & hard** to the next day."),
    )

    fake_telegram.push_message(CHAT, "Move my ride to the next day")
    await fake_telegram.wait_for(lambda f: bool(f.sent(CHAT)))

    [reply] = fake_telegram.sent(CHAT)
    assert reply["parse_mode"] == "HTML"
    assert "<b>Tempo &lt;fast&gt; &amp; hard</b>" in reply["raw_text"]
    assert "✅ Synced to Intervals.icu." in reply["raw_text"]
    assert fake_telegram.calls_of("sendChatAction")[0].params["action"] == "typing"
    assert fake_telegram.calls_of("sendChatAction")[0].at < fake_telegram.calls_of("sendMessage")[0].at
    assert fake_intervals.events("i1001")[0]["start_date_local"].startswith(later.isoformat())
    assert PlannedWorkout.get_by_id(wid).date == later

    # A quick answer (a command) comes without spending a call on "typing…".
    fake_telegram.push_message(CHAT, "/help")
    await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 2)
    assert len(fake_telegram.calls_of("sendChatAction")) == 1


async def test_connect_stores_the_key_and_deletes_the_message(
    app: Any, fake_telegram: FakeTelegram, fake_intervals: FakeIntervals, db: Database
) -> None:
    fake_intervals.add_athlete("i777", "key-secret-7777777", {"name": "Ann A."})
    bad = fake_telegram.push_message(CHAT, "/connect i777")
    await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 1)
    assert "Use /connect ATHLETE_ID API_KEY" in texts(fake_telegram)[0]
    assert Athlete.get().intervals_api_key is None

    good = fake_telegram.push_message(CHAT, "/connect i777 key-secret-7777777")
    await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 2)

    assert "Connected to Intervals.icu as Ann A." in texts(fake_telegram)[1]
    assert "I deleted your message with the key" in texts(fake_telegram)[1]
    deleted = {c.params["message_id"] for c in fake_telegram.calls_of("deleteMessage")}
    assert good["message"]["message_id"] in deleted
    assert bad["message"]["message_id"] in deleted  # it held a key-like argument too
    raw = db.execute_sql("SELECT intervals_api_key FROM athlete").fetchone()[0]
    assert "key-secret-7777777" not in raw and Athlete.get().intervals_api_key == "key-secret-7777777"


def plan(start: dt.date) -> dict[str, Any]:
    return {
        "summary": "Base.",
        "days": [
            {
                "date": start.isoformat(),
                "workouts": [
                    {
                        "title": "Endurance",
                        "type": "Ride",
                        "duration_minutes": 60,
                        "tss": 45,
                        "intensity": "easy",
                        "time_of_day": "morning",
                    }
                ],
            }
        ],
    }


async def test_generate_plan_press_is_answered_edited_and_runs_once(
    app: Any, fake_telegram: FakeTelegram, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    await linked(fake_intervals)
    fake_gemini.script(call("generate_training_plan", {"days": 3}), text("Shall I generate a 3-day plan?"))
    fake_telegram.push_message(CHAT, "Plan my next days")
    await fake_telegram.wait_for(lambda f: bool(f.sent(CHAT)))
    asked = fake_telegram.sent(CHAT)[0]
    buttons = asked["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["Generate plan", "Cancel"]

    fake_gemini.script(json_reply(plan(today() + dt.timedelta(days=1))))
    generate = buttons[0]["callback_data"]
    fake_telegram.push_callback(CHAT, asked["message_id"], generate)
    fake_telegram.push_callback(CHAT, asked["message_id"], generate)
    await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 3)

    assert len(fake_telegram.calls_of("answerCallbackQuery")) == 2
    assert len(fake_telegram.calls_of("editMessageText")) == 1  # the second press chose nothing
    edited = fake_telegram.sent(CHAT)[0]
    assert "reply_markup" not in edited or not edited["reply_markup"]
    assert "✔ Generate plan" in edited["raw_text"]
    results = texts(fake_telegram)[1:]
    assert any("plan (mixed) from" in r and "Total: " in r for r in results)
    assert any("You already answered that one." in r for r in results)
    assert WeeklyTrainingPlan.select().count() == 0  # a preview: nothing saved before "Save to calendar"


async def test_a_refused_press_leaves_the_message_and_its_buttons(
    app: Any, fake_telegram: FakeTelegram, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    athlete = await linked(fake_intervals)
    fake_gemini.script(call("generate_training_plan", {"days": 3}), text("Shall I generate a 3-day plan?"))
    fake_telegram.push_message(CHAT, "Plan my next days")
    await fake_telegram.wait_for(lambda f: bool(f.sent(CHAT)))
    asked = fake_telegram.sent(CHAT)[0]
    generations_used(athlete, plans.MAX_PER_HOUR)  # this press would be one too many

    generate = asked["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    fake_telegram.push_callback(CHAT, asked["message_id"], generate)
    await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 2)

    assert "please wait a bit before the next" in texts(fake_telegram)[1]
    assert fake_telegram.calls_of("editMessageText") == []
    assert fake_telegram.sent(CHAT)[0] == asked  # "Generate plan" still there, to press later
    assert PendingAction.get_by_id(actions.parse(generate)[0]).used_at is None  # given back
    assert len(fake_gemini.requests) == 2  # the turn that asked; no plan was drafted


async def test_markdown_reply_reaches_telegram_as_html(
    app: Any, fake_telegram: FakeTelegram, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(text(MODEL_MARKDOWN))
    fake_telegram.push_message(CHAT, "What's my week like?")
    await fake_telegram.wait_for(lambda f: bool(f.sent(CHAT)))

    [reply] = fake_telegram.sent(CHAT)
    assert reply["parse_mode"] == "HTML" and [c.status for c in fake_telegram.calls_of("sendMessage")] == [
        200
    ]
    assert markup_left(reply["text"]) == [] and all(word in reply["text"] for word in WORDS)
    kinds = {e["type"] for e in reply["entities"]}
    assert kinds == {"bold", "italic", "strikethrough", "code", "text_link", "blockquote", "pre"}
    assert '<script>alert("hi")</script>' in reply["text"] and "&lt;script&gt;" in reply["raw_text"]


async def test_long_markdown_reply_is_split_into_valid_html_messages(
    app: Any, fake_telegram: FakeTelegram, fake_gemini: FakeGemini
) -> None:
    paragraph = "Zone 2 & <steady> work **matters a lot**, *really*. " * 20
    code = "\n".join(f"ride_{i} = watts < {200 + i}" for i in range(300))
    fake_gemini.script(text("\n\n".join([paragraph] * 8) + f"\n\n```python\n{code}\n```"))
    fake_telegram.push_message(CHAT, "Tell me everything")
    await fake_telegram.wait_for(lambda f: sum(p["text"].count("ride_") for p in f.sent(CHAT)) == 300)

    parts = fake_telegram.sent(CHAT)
    assert all(c.status == 200 for c in fake_telegram.calls_of("sendMessage"))  # each part parsed on its own
    assert len(parts) >= 4 and all(0 < len(p["text"]) <= 4096 for p in parts)
    assert sum(len(p.get("entities", [])) for p in parts) == 8 * 20 * 2 + 2  # none dropped past the 100th
    assert any(len(p["raw_text"]) > 4096 for p in parts)  # the limit counts what is shown, not the tags
    assert all(markup_left(p["text"]) == [] for p in parts)
    code_parts = [p for p in parts if "ride_" in p["text"]]
    assert len(code_parts) >= 2 and all("<pre><code" in p["raw_text"] for p in code_parts)


async def test_chosen_label_edit_keeps_formatting_and_the_limit(fake_telegram: FakeTelegram) -> None:
    buttons = (Button("Generate plan", "a:abc:yes"),)
    async with ExtBot(fake_telegram.token, base_url=fake_telegram.api_url()) as bot:
        [short] = await telegram.send(bot, CHAT, Reply("Shall I build **3 days** of *endurance*?", buttons))
        edited = await short.edit_text(telegram.with_choice(short, "Generate plan"), parse_mode="HTML")
        assert not isinstance(edited, bool)
        assert edited.text == "Shall I build 3 days of endurance?\n\n✔ Generate plan"
        assert [e.type for e in edited.entities] == ["bold", "italic", "italic"]

        long_text = "**Plan** " + "ride & rest " * 340 + "<done>"
        [*_, long] = await telegram.send(bot, CHAT, Reply(long_text, buttons))
        assert len(long.text or "") > 4080
        edited = await long.edit_text(telegram.with_choice(long, "Generate <plan> & go"), parse_mode="HTML")
        assert not isinstance(edited, bool) and len(edited.text or "") <= 4096
        assert (edited.text or "").endswith("…\n\n✔ Generate <plan> & go")
    assert all(c.status == 200 for c in fake_telegram.calls_of("editMessageText"))


async def test_webhook_mode_checks_the_secret_token(
    coach: Coach, fake_telegram: FakeTelegram, fake_gemini: FakeGemini
) -> None:
    import asyncio
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/telegram"
    application = telegram.build_app(coach, fake_telegram.token, fake_telegram.url)
    fake_gemini.script(text("Hello from the webhook."))
    async with application:
        await telegram.start(application, webhook_url=url, listen="127.0.0.1", port=port)
        try:
            assert fake_telegram.webhook is not None and fake_telegram.webhook["url"] == url
            secret = telegram.webhook_secret(fake_telegram.token)
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "text": "hi",
                    "chat": {"id": CHAT, "type": "private"},
                    "from": {"id": CHAT, "is_bot": False, "first_name": "Ann"},
                },
            }
            forged = await asyncio.to_thread(fake_telegram.post_webhook, url, update, "wrong-secret")
            assert forged == 403
            assert await asyncio.to_thread(fake_telegram.post_webhook, url, update, secret) == 200
            await fake_telegram.wait_for(lambda f: bool(f.sent(CHAT)))
        finally:
            await telegram.stop(application)
    assert texts(fake_telegram) == ["Hello from the webhook."]
    assert len(fake_gemini.requests) == 1
