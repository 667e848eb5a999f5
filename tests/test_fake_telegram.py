"""Tests of the fake Telegram Bot API itself, driven by the real python-telegram-bot library."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Conflict, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram import FakeTelegram

TOKEN = "123456:TEST-token"
CHAT = 42


def make_bot(fake: FakeTelegram, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=fake.api_url(), base_file_url=f"{fake.url}/file/bot")


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    async with make_bot(fake_telegram) as b:
        yield b


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"b{i}", callback_data=d) for i, d in enumerate(data)]]
    )


# -- the plain Bot -------------------------------------------------------------------


async def test_get_me(fake_telegram: FakeTelegram) -> None:
    async with make_bot(fake_telegram) as b:
        assert (b.username, b.first_name, b.id) == ("coach_test_bot", "Coach", 123456)
        assert (await b.get_me()).is_bot
    assert [c.status for c in fake_telegram.calls_of("getMe")] == [200, 200]


async def test_wrong_token_and_unknown_method(fake_telegram: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(fake_telegram, "999:other"):
            pass
    assert fake_telegram.calls_of("getMe")[0].status == 401
    r = httpx.post(f"{fake_telegram.api_url()}{TOKEN}/sendPigeon", data={"chat_id": 1})
    assert r.status_code == 404
    assert r.json() == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}


def test_json_and_form_bodies_are_decoded(fake_telegram: FakeTelegram) -> None:
    kb = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    url = f"{fake_telegram.api_url()}{TOKEN}/sendMessage"
    r = httpx.post(url, json={"chat_id": "5", "text": "123", "reply_markup": kb})
    assert r.json()["result"]["reply_markup"] == kb and r.json()["result"]["text"] == "123"
    r = httpx.post(url, data={"chat_id": 5, "text": "true", "reply_markup": json.dumps(kb)})
    assert r.json()["result"]["text"] == "true"
    assert [c.params for c in fake_telegram.calls] == [
        {"chat_id": 5, "text": "123", "reply_markup": kb},
        {"chat_id": 5, "text": "true", "reply_markup": kb},
    ]
    r = httpx.post(url, data={"chat_id": "@nobody", "text": "x"})
    assert (r.status_code, r.json()["description"]) == (400, "Bad Request: chat not found")


async def test_send_message_with_html_and_keyboard(fake_telegram: FakeTelegram, bot: Bot) -> None:
    kb = keyboard("approve:1", "reject:1")
    m = await bot.send_message(
        CHAT, "<b>Plan</b> &amp; <i>rest</i>", parse_mode=ParseMode.HTML, reply_markup=kb
    )
    assert (m.message_id, m.chat.id, m.chat.type, m.text) == (1, CHAT, "private", "Plan & rest")
    assert m.from_user is not None and m.from_user.is_bot and m.reply_markup == kb
    assert (await bot.send_message(CHAT, "again")).message_id == 2
    call = fake_telegram.calls_of("sendMessage")[0]
    assert call.params["chat_id"] == CHAT and call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "reject:1"
    first, second = fake_telegram.sent(CHAT)
    assert first["raw_text"] == "<b>Plan</b> &amp; <i>rest</i>" and first["parse_mode"] == "HTML"
    assert first["reply_markup"] == kb.to_dict() and "reply_markup" not in second
    assert fake_telegram.sent(7) == []


async def test_text_length_counts_after_html_parsing(bot: Bot) -> None:
    await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    await bot.send_message(CHAT, "&amp;" * 4096, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)too long"):
        await bot.send_message(CHAT, "x" * 4097)
    with pytest.raises(BadRequest, match="(?i)text is empty"):
        await bot.send_message(CHAT, "<b> </b>", parse_mode=ParseMode.HTML)


@pytest.mark.parametrize(
    "text",
    [
        "<b>open",
        "<b>x</i>",
        "<foo>x</foo>",
        "1 < 2",
        "<span>x</span>",
        "x</b>",
        "<!-- c -->x",
        "<b><i>x</b></i>",
    ],
)
async def test_malformed_html_is_rejected(bot: Bot, text: str) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("é <b>x", "Can't find end tag corresponding to start tag b"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="x">y</a', "Unclosed end tag at byte offset 13"),
        ("<span>s</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        (
            "<b class>x</b>",
            'Expected equal sign in declaration of an attribute of the tag "b" at byte offset 0',
        ),
        (
            "&#55357;",
            "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units",
        ),
    ],
)
async def test_html_errors_read_as_the_bot_apis(bot: Bot, text: str, description: str) -> None:
    with pytest.raises(BadRequest) as failed:
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
    # The fake answers "Bad Request: can't parse entities: <description>"; PTB drops the prefix, capitalizes.
    assert failed.value.message == f"can't parse entities: {description}".capitalize()


def test_html_errors_reach_the_client_in_the_bot_api_shape(fake_telegram: FakeTelegram) -> None:
    url = f"{fake_telegram.api_url()}{TOKEN}/sendMessage"
    r = httpx.post(url, data={"chat_id": CHAT, "text": "<script>x</script>", "parse_mode": "HTML"})
    assert (r.status_code, r.json()) == (
        400,
        {
            "ok": False,
            "error_code": 400,
            "description": 'Bad Request: can\'t parse entities: Unsupported start tag "script" at byte offset 0',
        },
    )
    r = httpx.post(url, data={"chat_id": CHAT, "text": "x" * 4097})
    assert r.json() == {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}


async def test_entities_and_length_after_parsing(bot: Bot) -> None:
    m = await bot.send_message(
        CHAT,
        '😀 <b>bold <i>both</i></b> <a href="https://e.com/?a=1&amp;b=2">link</a> '
        '<pre><code class="language-python">x</code></pre> <code class="language-x">c</code>',
        parse_mode=ParseMode.HTML,
    )
    assert m.text == "😀 bold both link x c"
    assert [(e.type, e.offset, e.length, e.url, e.language) for e in m.entities] == [
        ("bold", 3, 9, None, None),  # offsets count UTF-16 units: the emoji is two
        ("italic", 8, 4, None, None),
        ("text_link", 13, 4, "https://e.com/?a=1&b=2", None),
        ("pre", 18, 1, None, "python"),
        ("code", 20, 1, None, None),  # a language counts only inside <pre>
    ]
    # Like tdlib, "&" starting no entity it knows is a plain character, not an error.
    assert (
        await bot.send_message(CHAT, "a & b &nbsp; &amp", parse_mode=ParseMode.HTML)
    ).text == "a & b &nbsp; &"
    # Past the 100th entity Telegram drops the formatting, without an error.
    many = await bot.send_message(CHAT, "<b>x</b> " * 120, parse_mode=ParseMode.HTML)
    assert len(many.entities) == 100 and many.text == "x " * 120
    # The limit counts characters (code points), not UTF-16 units: 4096 emoji fit.
    assert len((await bot.send_message(CHAT, "😀" * 4096)).text) == 4096
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(CHAT, "<b>" + "😀" * 4097 + "</b>", parse_mode=ParseMode.HTML)


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ('<span class="tg-spoiler">s</span> <tg-spoiler>t</tg-spoiler>', "s t"),
        ('<a href="https://e.com/?a=1&amp;b=2">link</a>', "link"),
        ('<pre><code class="language-python">x = 1 &lt; 2</code></pre>', "x = 1 < 2"),
        ("<blockquote expandable>q</blockquote> &#128512; &quot;", 'q 😀 "'),
        ("plain 1 > 0", "plain 1 > 0"),
    ],
)
async def test_valid_html(bot: Bot, text: str, visible: str) -> None:
    assert (await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)).text == visible


async def test_callback_data_limit_is_64_bytes(bot: Bot) -> None:
    await bot.send_message(CHAT, "ok", reply_markup=keyboard("x" * 64))
    for data in ("x" * 65, "é" * 33):
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
            await bot.send_message(CHAT, "no", reply_markup=keyboard(data))


async def test_edit_message_text_and_markup(fake_telegram: FakeTelegram, bot: Bot) -> None:
    m = await bot.send_message(CHAT, "Approve?", reply_markup=keyboard("approve:1"))
    edited = await bot.edit_message_text("<b>Done</b>", CHAT, m.message_id, parse_mode=ParseMode.HTML)
    assert not isinstance(edited, bool) and edited.text == "Done" and edited.edit_date is not None
    [stored] = fake_telegram.sent()
    assert stored["text"] == "Done" and "reply_markup" not in stored  # no markup: the keyboard is gone
    assert stored["entities"] == [{"type": "bold", "offset": 0, "length": 4}]
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("<b>Done</b>", CHAT, m.message_id, parse_mode=ParseMode.HTML)
    plain = await bot.edit_message_text("Done", CHAT, m.message_id)  # same text, formatting gone: modified
    assert not isinstance(plain, bool) and plain.entities == ()
    await bot.edit_message_reply_markup(CHAT, m.message_id, reply_markup=keyboard("again"))
    assert fake_telegram.sent()[0]["reply_markup"] == keyboard("again").to_dict()
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_reply_markup(CHAT, m.message_id, reply_markup=keyboard("again"))
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", CHAT, 999)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.edit_message_text("x" * 4097, CHAT, m.message_id)


async def test_answer_callback_query(fake_telegram: FakeTelegram, bot: Bot) -> None:
    m = await bot.send_message(CHAT, "Approve?", reply_markup=keyboard("approve:1"))
    update = fake_telegram.push_callback(CHAT, m.message_id, "approve:1")
    query_id = update["callback_query"]["id"]
    assert await bot.answer_callback_query(query_id, text="Saved")
    assert fake_telegram.calls_of("answerCallbackQuery")[0].params == {
        "callback_query_id": query_id,
        "text": "Saved",
    }
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(query_id)


async def test_chat_action_and_delete(fake_telegram: FakeTelegram, bot: Bot) -> None:
    assert await bot.send_chat_action(CHAT, ChatAction.TYPING)
    assert fake_telegram.calls_of("sendChatAction")[0].params == {"chat_id": CHAT, "action": "typing"}
    incoming = fake_telegram.push_message(CHAT, "hello")["message"]
    mine = await bot.send_message(CHAT, "bye")
    assert mine.message_id == incoming["message_id"] + 1  # one id sequence per chat, both sides
    assert await bot.delete_message(CHAT, incoming["message_id"])
    assert await bot.delete_message(CHAT, mine.message_id)
    assert fake_telegram.sent() == []
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(CHAT, mine.message_id)


async def test_commands(fake_telegram: FakeTelegram, bot: Bot) -> None:
    assert await bot.set_my_commands([BotCommand("plan", "Your next 14 days"), BotCommand("help", "Help")])
    assert fake_telegram.commands == [
        {"command": "plan", "description": "Your next 14 days"},
        {"command": "help", "description": "Help"},
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["plan", "help"]


async def test_fail_next_is_flood_control(fake_telegram: FakeTelegram, bot: Bot) -> None:
    fake_telegram.fail_next("sendMessage")
    with pytest.raises(RetryAfter) as exc:
        await bot.send_message(CHAT, "hi")
    assert exc.value.retry_after == 1
    assert (await bot.send_message(CHAT, "hi")).text == "hi"
    assert [c.status for c in fake_telegram.calls_of("sendMessage")] == [429, 200]
    assert len(fake_telegram.sent()) == 1


async def test_malformed_token_is_not_found(fake_telegram: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(fake_telegram, "not-a-token"):
            pass
    r = httpx.post(f"{fake_telegram.api_url()}not-a-token/getMe")
    assert (r.status_code, r.json()) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})


def test_flood_control_refuses_calls_to_chats_beyond_the_budget(fake_telegram: FakeTelegram) -> None:
    fake_telegram.flood_rate = 2  # a slow budget, so the calls below come faster than it drains
    url = f"{fake_telegram.api_url()}{TOKEN}"
    answers = [httpx.post(f"{url}/sendMessage", data={"chat_id": CHAT + n, "text": "hi"}) for n in range(3)]
    answers.append(httpx.post(f"{url}/sendChatAction", data={"chat_id": CHAT, "action": "typing"}))
    answers.append(httpx.post(f"{url}/getMe"))  # not aimed at a chat: not counted

    assert [a.status_code for a in answers] == [200, 200, 429, 429, 200]
    assert answers[2].json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert fake_telegram.flooded == 2 and len(fake_telegram.sent()) == 2
    time.sleep(0.6)  # the bucket drains 2 a second
    assert httpx.post(f"{url}/sendMessage", data={"chat_id": CHAT, "text": "again"}).status_code == 200


async def test_wait_for_reports_the_calls(fake_telegram: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(CHAT, "hi")
    with pytest.raises(AssertionError, match=r"sendMessage 200 .*\"hi\""):
        await fake_telegram.wait_for(lambda f: len(f.sent()) == 2, timeout=0.1)


async def test_get_updates_long_polls_and_confirms(fake_telegram: FakeTelegram, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=30) == ()  # the fake caps the wait at 1 s
    assert 0.9 < time.monotonic() - started < 2
    loop = asyncio.get_running_loop()
    loop.call_later(0.1, fake_telegram.push_message, CHAT, "/plan next week")
    started = time.monotonic()
    [update] = await bot.get_updates(timeout=5, allowed_updates=["message", "callback_query"])
    assert time.monotonic() - started < 0.8  # woken by the push, not by the timeout
    assert update.message is not None and update.message.text == "/plan next week"
    assert update.message.parse_entities() == {update.message.entities[0]: "/plan"}
    assert await bot.get_updates(offset=update.update_id, timeout=0) == (update,)
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    params = fake_telegram.calls_of("getUpdates")[1].params
    assert params == {"timeout": 5, "allowed_updates": ["message", "callback_query"]}


# -- a whole Application -------------------------------------------------------------


async def test_application_polls_and_replies(fake_telegram: FakeTelegram) -> None:
    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"you said {update.message.text}", reply_markup=keyboard("ok:1"))

    async def on_plan(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_html(f"<b>plan</b> {' '.join(context.args or [])}")

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"pressed {query.data}")

    app = Application.builder().token(TOKEN).base_url(fake_telegram.api_url()).build()
    app.add_handler(CommandHandler("plan", on_plan))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^ok:"))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        fake_telegram.push_message(CHAT, "hello", first_name="Bea", username="bea")
        await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 1)
        reply = fake_telegram.sent(CHAT)[0]
        assert reply["text"] == "you said hello" and reply["reply_markup"] == keyboard("ok:1").to_dict()
        fake_telegram.push_callback(CHAT, reply["message_id"], "ok:1")
        await fake_telegram.wait_for(lambda f: f.sent(CHAT)[0]["text"] == "pressed ok:1")
        fake_telegram.push_message(CHAT, "/plan week 2")
        await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 2)
        assert fake_telegram.sent(CHAT)[1]["text"] == "plan week 2"
        stopping = time.monotonic()
        await app.updater.stop()
        await app.stop()
    assert time.monotonic() - stopping < 0.5
    assert [c.status for c in fake_telegram.calls_of("answerCallbackQuery")] == [200]
    assert fake_telegram.calls_of("deleteWebhook")  # start_polling clears any webhook first
    last = fake_telegram.calls_of("getUpdates")[-1]
    assert last.params["timeout"] == 0 and last.status == 200  # PTB's confirming call on stop


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_application_webhook(fake_telegram: FakeTelegram) -> None:
    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("via webhook")

    app = Application.builder().token(TOKEN).base_url(fake_telegram.api_url()).build()
    app.add_handler(MessageHandler(filters.TEXT, on_text))
    port = _free_port()
    url = f"http://127.0.0.1:{port}/tg"
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook("127.0.0.1", port, "tg", webhook_url=url, secret_token="s3cret")
        assert fake_telegram.webhook is not None and fake_telegram.webhook["url"] == url
        assert fake_telegram.webhook["secret_token"] == "s3cret"
        update = {"update_id": 1, "message": fake_telegram.push_message(CHAT, "hi")["message"]}
        # post_webhook blocks, and this loop serves the webhook: run it in a thread
        assert await asyncio.to_thread(fake_telegram.post_webhook, url, update, "wrong") == 403
        assert await asyncio.to_thread(fake_telegram.post_webhook, url, update, "s3cret") == 200
        await fake_telegram.wait_for(lambda f: [m["text"] for m in f.sent()] == ["via webhook"])
        await app.updater.stop()
        await app.stop()
    with pytest.raises(Conflict, match="webhook is active"):
        async with make_bot(fake_telegram) as b:
            await b.get_updates()
    assert fake_telegram.calls_of("getUpdates")[-1].status == 409
