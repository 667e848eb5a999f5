"""The Telegram adapter (python-telegram-bot 22): updates in, core replies out, nothing else.

Buttons carry only core's short action payload, so buttons sent by any process
(the worker's notices too) work here. Updates of one chat are processed in
order; different chats run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

from bot import failures
from bot.invite_link import api_urls
from bot.markdown import telegram_html
from bot.telegram_media import attachment
from bot.telegram_rate import RepliesFirst
from core.config import Settings
from core.conversation.turn import Coach
from core.errors import StartupError, Unreachable
from core.messages import Incoming, Reply

logger = logging.getLogger(__name__)

PLATFORM = "telegram"
TYPING_EVERY = 4.5  # Telegram shows "typing…" for about 5 seconds per action
# Only an answer that takes a while needs "typing…": commands, button answers and the refusals of
# strangers come sooner and so never spend a call of the bot's budget on it.
TYPING_AFTER = 0.5
COMMANDS = (
    ("start", "What I can do"),
    ("help", "Commands and examples"),
    ("plan", "Your next 14 days"),
    ("availability", "Your weekly availability"),
    ("sync", "Sync status, retry"),
    ("undo", "Take back the last change"),
    ("connect", "Link Intervals.icu: /connect ATHLETE_ID API_KEY"),
    ("timezone", "Set your time zone"),
    ("notify", "What I tell you on my own, quiet hours"),
    ("disconnect", "Unlink Intervals.icu"),
    ("forget", "Erase everything stored about you"),
)
# Messages core can't read but should answer (briefly): anything a person sends that isn't text.
UNSUPPORTED = filters.UpdateType.MESSAGE & ~filters.TEXT & ~filters.StatusUpdate.ALL
# Photos, voice notes, audio and documents arrive as media, so they never reach this list.
_KINDS = ("sticker", "video", "video_note", "animation", "location")


def _kind(message: Message) -> str:
    return next((k for k in _KINDS if getattr(message, k, None)), "message")


def to_incoming(update: Update) -> Incoming | None:
    """A message, voice note, picture or button press as core's Incoming (other kinds marked unsupported)."""
    if update.callback_query is not None:
        query = update.callback_query
        chat = query.message.chat if query.message else None
        return Incoming(
            PLATFORM,
            str(query.from_user.id),
            str(chat.id if chat else query.from_user.id),
            action=query.data or "",
            user_name=query.from_user.first_name,
            private=chat is None or chat.type == ChatType.PRIVATE,
        )
    message = update.effective_message
    if message is None or message.from_user is None:
        return None
    media = attachment(message)
    return Incoming(
        PLATFORM,
        str(message.from_user.id),
        str(message.chat.id),
        text=message.caption if media else message.text,
        user_name=message.from_user.first_name,
        unsupported=None if message.text is not None or media else _kind(message),
        media=media,
        private=message.chat.type == ChatType.PRIVATE,
    )


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Core's buttons as one row of inline buttons."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.action) for b in reply.buttons]]
    )


async def send(bot: ExtBot[Any], chat_id: int | str, reply: Reply) -> list[Message]:
    """Send the reply's Markdown as Telegram HTML, split at Telegram's limit; buttons go on the last part."""
    chunks = telegram_html.render(reply.text) or [telegram_html.escape(reply.text) or "…"]
    sent = []
    for i, chunk in enumerate(chunks):
        markup = keyboard(reply) if i == len(chunks) - 1 else None
        sent.append(await bot.send_message(chat_id, chunk, parse_mode=ParseMode.HTML, reply_markup=markup))
    return sent


@contextlib.asynccontextmanager
async def typing(bot: ExtBot[Any], chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" from TYPING_AFTER on until the block ends (RepliesFirst skips it while replies
    need the budget)."""

    async def renew() -> None:
        await asyncio.sleep(TYPING_AFTER)
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            await asyncio.sleep(TYPING_EVERY)

    task = asyncio.create_task(renew())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class PerChatOrder(BaseUpdateProcessor):
    """Concurrent across chats, strictly in order within one chat."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else 0
        lock = self._locks.setdefault(chat, asyncio.Lock())
        try:
            async with lock:
                await coroutine
        finally:
            if not lock.locked() and self._locks.get(chat) is lock:
                del self._locks[chat]

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def with_choice(message: Message, label: str) -> str:
    """The pressed message as HTML, formatting kept, with the chosen label under it, within the limit."""
    note = f"\n\n✔ {label}"
    html_note = f"\n\n<i>✔ {telegram_html.escape(label)}</i>"
    text = message.text or ""
    if len(text) + len(note) <= telegram_html.LIMIT:
        return message.text_html + html_note
    # No room for the note: the text, shortened and plain (a cut could split an entity).
    room = max(telegram_html.LIMIT - len(note) - 1, 0)
    return telegram_html.escape(text[:room]) + "…" + html_note


def build_app(
    coach: Coach, token: str, base_url: str | None = None
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The PTB Application wired to ``coach``."""
    builder = Application.builder().token(token).rate_limiter(RepliesFirst(max_retries=3))
    builder = builder.concurrent_updates(PerChatOrder())
    if base_url:
        urls = api_urls(base_url)
        builder = builder.base_url(urls["base_url"]).base_file_url(urls["base_file_url"])
    app = builder.build()

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        incoming = to_incoming(update)
        message = update.effective_message
        if incoming is None or message is None:
            return
        async with typing(context.bot, message.chat.id):
            reply = await coach.handle(incoming)
        if reply is None:
            return
        if reply.delete_incoming:
            # The message held an API key: it must not stay in the chat history.
            try:
                await message.delete()
                note = "(I deleted your message with the key.)"
            except TelegramError:
                note = "Please delete your message with the key."
            reply = dataclasses.replace(reply, text=f"{reply.text}\n\n{note}")
        await send(context.bot, message.chat.id, reply)

    async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        incoming = to_incoming(update)
        if query is None or incoming is None:
            return
        await query.answer()  # at once, or the client's spinner hangs
        async with typing(context.bot, int(incoming.chat_id)):
            reply = await coach.handle(incoming)
        if reply is None:
            return
        original = query.message if isinstance(query.message, Message) else None
        if reply.chosen and original is not None:
            # Only a press core acted on is marked: a refused one (rate limited, stale) keeps its buttons.
            with contextlib.suppress(BadRequest):
                await original.edit_text(
                    with_choice(original, reply.chosen), parse_mode=ParseMode.HTML, reply_markup=None
                )
        await send(context.bot, incoming.chat_id, reply)

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A handler failed: say so in one log line, and apologise in the chat when there is one."""
        assert context.error is not None
        chat = update.effective_chat if isinstance(update, Update) else None
        failures.log(
            logger, context.error, f"telegram update in chat {chat.id if chat else '-'}", (TelegramError,)
        )
        if chat is not None:
            with contextlib.suppress(TelegramError):  # e.g. the failure was Telegram itself
                await context.bot.send_message(chat.id, failures.apology(context.error))

    app.add_handler(MessageHandler(filters.TEXT | UNSUPPORTED, on_text))
    app.add_handler(CallbackQueryHandler(on_press))
    app.add_error_handler(on_error)
    return app


async def initialize(
    part: Application[Any, Any, Any, Any, Any, Any] | ExtBot[Any], api_url: str | None
) -> None:
    """Initialize an app or a bot (getMe); a refused token is a StartupError, an unreachable Bot API
    Unreachable (one too: only the worker starts anyway).

    PTB's own messages are not passed on: InvalidToken's quotes the token.
    """
    try:
        await part.initialize()
    except InvalidToken:
        raise StartupError(
            "Telegram refused TELEGRAM_BOT_TOKEN: copy the token @BotFather gave you into TELEGRAM_BOT_TOKEN."
        ) from None
    except NetworkError as exc:  # PTB's TimedOut and its answer to a 5xx are NetworkErrors too
        where = api_url or "https://api.telegram.org"
        raise Unreachable(
            f"The Telegram Bot API is not reachable at {where} ({type(exc).__name__}): "
            "check the network or set TELEGRAM_API_BASE_URL."
        ) from None


def webhook_secret(token: str) -> str:
    """A secret for Telegram's webhook header, the same on every instance, derived from the token."""
    return hashlib.sha256(f"coach-webhook:{token}".encode()).hexdigest()[:48]


async def start(
    app: Application[Any, Any, Any, Any, Any, Any],
    *,
    webhook_url: str | None = None,
    listen: str = "0.0.0.0",
    port: int = 8443,
    poll_timeout: int = 20,
) -> None:
    """Start an initialized app: register the command menu, then poll or serve the webhook."""
    await app.start()
    await app.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])
    assert app.updater is not None
    if webhook_url:
        await app.updater.start_webhook(
            listen=listen,
            port=port,
            url_path=urlsplit(webhook_url).path.lstrip("/"),
            webhook_url=webhook_url,
            secret_token=webhook_secret(app.bot.token),
        )
        logger.info("telegram: webhook on port %s", port)
    else:
        await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout)
        logger.info("telegram: long polling")


async def stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Stop receiving updates and finish the ones in flight."""
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()


async def run(coach: Coach, settings: Settings, stop_event: asyncio.Event) -> None:
    """Run until ``stop_event`` is set: long polling, or a webhook when TELEGRAM_WEBHOOK_URL is set."""
    settings.require("telegram_bot_token")
    assert settings.telegram_bot_token is not None
    app = build_app(coach, settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base_url)
    await initialize(app, settings.telegram_api_base_url)
    async with app:
        await start(
            app,
            webhook_url=settings.telegram_webhook_url,
            listen=settings.telegram_webhook_listen,
            port=settings.telegram_webhook_port,
        )
        await stop_event.wait()
        await stop(app)
