"""The Slack adapter: event, slash command and button bodies in; Block Kit messages out.

Two translators (``to_incoming``, ``blocks_for``), ``send`` for anyone pushing a Reply, and
``build_app`` wiring bolt's listeners to ``Coach.handle``. Every listener is acknowledged at
once (Slack wants an answer within 3 s); the turn runs afterwards, on bolt's listener task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot import failures, slack_media
from bot.markdown import plain, slack_markdown
from bot.ops import start_site
from core.config import Settings
from core.conversation.commands import COMMANDS
from core.conversation.turn import Coach
from core.errors import StartupError, Unreachable
from core.messages import Button, Incoming, Reply

logger = logging.getLogger(__name__)

PLATFORM = "slack"
# One action_id per button position (they must be unique within a block); the value is core's payload.
ACTION_ID = re.compile(r"^coach_action_\d+$")
MAX_BUTTONS, MAX_LABEL = 25, 75
HOURGLASS, HOURGLASS_AFTER = "hourglass_flowing_sand", 2.0

KEY_NOTE = (
    "🔒 Your message above contains your API key. I can't delete it for you: "
    "please delete it yourself (hover over it, ⋯, Delete message)."
)
USE_DM = "Please send /coach connect to me in a direct message: an API key doesn't belong in a channel."
KEY_IN_CHANNEL = (
    "I didn't use that: your API key is now visible in this channel. Please delete the message, "
    "create a new key in Intervals.icu and send /coach connect to me in a direct message."
)
ANSWERED_IN_DM = "I've answered in our direct messages."
# Slack's Web API failing or unreachable (rate limits past the retries, network): an outage, not a bug.
SLACK_DOWN = (SlackClientError, aiohttp.ClientError)


def command_text(text: str) -> str:
    """``/coach plan`` as core text: "/plan"; an empty command is "/help"; anything else is chat."""
    text = text.strip()
    if not text:
        return "/help"
    head = text.split(maxsplit=1)[0].lstrip("/").lower()
    return "/" + text.lstrip("/") if head in COMMANDS else text


def _unescape(text: str) -> str:
    # Slack escapes these three in messages and commands; core wants what the athlete typed.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_incoming(body: dict[str, Any]) -> Incoming | None:
    """A DM, an app_mention, a /coach command or a button press as core input; None for what Coach ignores.

    ``chat_id`` is the channel the body came from; handlers swap in the DM channel when it isn't one.
    """
    if body.get("type") == "block_actions":
        user, action = body["user"], body["actions"][0]
        channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
        team = user.get("team_id") or (body.get("team") or {}).get("id")
        return Incoming(
            PLATFORM,
            user["id"],
            channel,
            action=action.get("value", ""),
            user_name=user.get("name", ""),
            team=team,
        )
    if "command" in body:
        text = command_text(_unescape(body.get("text", "")))
        return Incoming(
            PLATFORM,
            body["user_id"],
            body["channel_id"],
            text=text,
            user_name=body.get("user_name", ""),
            team=body.get("team_id"),
        )
    event = body.get("event") or {}
    kind = event.get("type")
    # Edits, deletions and joins arrive as subtypes; bots (ourselves included) carry bot_id.
    subtype = event.get("subtype")
    if subtype not in (None, "file_share") or event.get("bot_id") or not event.get("user"):
        return None
    if not (kind == "app_mention" or (kind == "message" and event.get("channel_type") == "im")):
        return None
    # In a channel shared with another workspace (Slack Connect) the user's own team is user_team.
    team = event.get("user_team") or body.get("team_id")
    if subtype == "file_share":  # the handler looks the file up (files.info) and attaches it
        caption = _unescape(event.get("text", "")).strip()
        return Incoming(
            PLATFORM, event["user"], event["channel"], text=caption, team=team, unsupported="file"
        )
    text = event.get("text", "")
    if kind == "app_mention":
        bot = (body.get("authorizations") or [{}])[0].get("user_id")  # the bot user; Slack always sends it
        text = text.replace(f"<@{bot}>", "")
    return Incoming(PLATFORM, event["user"], event["channel"], text=_unescape(text).strip(), team=team)


def _button(position: int, button: Button) -> dict[str, Any]:
    label = {"type": "plain_text", "text": button.label[:MAX_LABEL], "emoji": True}
    element = {
        "type": "button",
        "action_id": f"coach_action_{position}",
        "text": label,
        "value": button.action,
    }
    return {**element, "style": "primary"} if position == 0 else element


def blocks_for(reply: Reply) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and blocks for a reply that fits one message (``send`` splits longer ones).

    The text goes in a ``markdown`` block, which renders the model's Markdown as Slack's own.
    """
    blocks: list[dict[str, Any]] = []
    if reply.text.strip():
        blocks.append({"type": "markdown", "text": slack_markdown.escape(reply.text)})
    if reply.buttons:
        elements = [_button(i, b) for i, b in enumerate(reply.buttons[:MAX_BUTTONS])]
        blocks.append({"type": "actions", "block_id": "coach_buttons", "elements": elements})
    # The fallback feeds notifications and screen readers: the same words without the markup.
    return slack_markdown.escape_mrkdwn(plain.render(reply.text)) or " ", blocks


def chosen_blocks(blocks: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    """A pressed message's blocks with the buttons replaced by the choice, so it can't be pressed twice."""
    done = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"✔ {slack_markdown.escape_mrkdwn(label)}"}],
    }
    return [done if b.get("type") == "actions" else b for b in blocks]


async def send(client: AsyncWebClient, channel: str, reply: Reply, thread_ts: str | None = None) -> list[str]:
    """Post a reply as one message, or several when long (buttons on the last); returns their ts."""
    pieces = slack_markdown.chunks(reply.text) or [""]
    stamps = []
    for i, piece in enumerate(pieces):
        text, blocks = blocks_for(Reply(piece, reply.buttons if i == len(pieces) - 1 else ()))
        posted = await client.chat_postMessage(
            channel=channel, text=text, blocks=blocks or None, thread_ts=thread_ts
        )
        stamps.append(str(posted["ts"]))
    return stamps


def web_client(token: str, api_url: str | None = None) -> AsyncWebClient:
    """A Web API client that retries dropped connections and, twice, rate limits."""
    base = api_url.rstrip("/") + "/" if api_url else AsyncWebClient.BASE_URL  # urljoin drops a last segment
    client = AsyncWebClient(token=token, base_url=base)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


async def check_token(client: AsyncWebClient, app_token: str | None = None) -> None:
    """Ask Slack whether it accepts the bot token (auth.test) and, for Socket Mode, the app token.

    A refusal is a StartupError naming the setting; no answer (network, 5xx) is Unreachable. The app
    token is tried with apps.connections.open, as Socket Mode would: left to slack-sdk, a refused one
    is retried forever.
    """
    await _accepted(client.auth_test(), "SLACK_BOT_TOKEN", "the Bot User OAuth Token (xoxb-…)", client)
    if app_token is not None:
        what = "an app-level token with connections:write (xapp-…)"
        await _accepted(client.apps_connections_open(app_token=app_token), "SLACK_APP_TOKEN", what, client)


async def _accepted(call: Awaitable[Any], setting: str, what: str, client: AsyncWebClient) -> None:
    try:
        await call
        return
    except SlackApiError as exc:
        # A 5xx, or rate limits past the retries, is Slack failing to answer, not refusing the token.
        if exc.response.status_code < 500 and exc.response.status_code != 429:
            raise StartupError(
                f"Slack refused {setting} ({exc.response.get('error')}): set {setting} to {what}."
            ) from None
        reason = f"HTTP {exc.response.status_code}"
    except (*SLACK_DOWN, OSError) as exc:
        reason = type(exc).__name__
    raise Unreachable(
        f"Slack is not reachable at {client.base_url} ({reason}): check the network or set SLACK_API_URL."
    )


def _is_connect(text: str | None) -> bool:
    return (text or "").lstrip("/").lower().split()[:1] == ["connect"]


async def _patiently(
    work: Awaitable[Reply | None], client: AsyncWebClient, channel: str, ts: str
) -> Reply | None:
    """Await the turn; while a slow one runs, an hourglass on the athlete's message says we're on it."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.wait({task}, timeout=HOURGLASS_AFTER)
        if task.done():
            return task.result()
        with contextlib.suppress(SlackApiError):  # a reaction is not worth failing the turn over
            await client.reactions_add(channel=channel, timestamp=ts, name=HOURGLASS)
        try:
            return await task
        finally:
            with contextlib.suppress(SlackApiError):
                await client.reactions_remove(channel=channel, timestamp=ts, name=HOURGLASS)
    finally:
        task.cancel()  # no-op once done; stops the turn if bolt cancels the listener


class _Listeners:
    """Bolt listeners around one Coach; each acks first, then runs the turn and posts the reply."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach
        self.dms: dict[str, str] = {}

    async def dm_of(self, client: AsyncWebClient, user: str) -> str:
        """The athlete's DM channel: their chat, so pushes from the worker never land in a channel."""
        if user not in self.dms:
            self.dms[user] = (await client.conversations_open(users=user))["channel"]["id"]
        return self.dms[user]

    async def turn(self, incoming: Incoming) -> Reply | None:
        """Coach's reply (None: core chose silence); an apology if core fails unexpectedly."""
        try:
            return await self.coach.handle(incoming)
        except Exception as exc:
            failures.log(logger, exc, f"slack turn for user {incoming.user_id}", SLACK_DOWN)
            return Reply(failures.apology(exc))

    async def on_event(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A DM, answered in the DM; or a mention, answered in its thread (and a key there refused)."""
        incoming = to_incoming(body)
        if incoming is None:
            return
        event = body["event"]
        channel, thread = event["channel"], event.get("thread_ts")
        if event["type"] == "app_mention":
            if _is_connect(incoming.text):
                await client.chat_postEphemeral(channel=channel, user=incoming.user_id, text=KEY_IN_CHANNEL)
                return
            thread = thread or event["ts"]
            incoming = replace(incoming, chat_id=await self.dm_of(client, incoming.user_id))
        if event.get("subtype") == "file_share" and (shared := await slack_media.attachment(client, event)):
            incoming = replace(incoming, media=shared, unsupported=None)
        reply = await _patiently(self.turn(incoming), client, channel, event["ts"])
        if reply is None:
            return
        if reply.delete_incoming:  # bots can't delete a user's message
            reply = replace(reply, text=f"{reply.text}\n\n{KEY_NOTE}")
        await send(client, channel, reply, thread)

    async def on_command(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """/coach: answer in the DM; typed elsewhere, say so there (and refuse a key)."""
        await ack()
        incoming = to_incoming(body)
        assert incoming is not None
        dm = await self.dm_of(client, incoming.user_id)
        if incoming.chat_id != dm:
            await respond(USE_DM if _is_connect(incoming.text) else ANSWERED_IN_DM)  # ephemeral
            if _is_connect(incoming.text):
                return
        reply = await self.turn(replace(incoming, chat_id=dm))
        if reply is not None:
            await send(client, dm, reply)

    async def on_press(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A button: run its action, mark the message with the choice, post the result beside it."""
        await ack()
        incoming = to_incoming(body)
        assert incoming is not None
        channel = incoming.chat_id
        if not channel.startswith("D"):  # a button in a channel thread, after a mention
            incoming = replace(incoming, chat_id=await self.dm_of(client, incoming.user_id))
        reply = await self.turn(incoming)
        if reply is None:
            return
        message = body.get("message") or {}
        if reply.chosen and message:
            blocks = chosen_blocks(message.get("blocks") or [], reply.chosen)
            await client.chat_update(
                channel=channel, ts=message["ts"], text=message.get("text") or " ", blocks=blocks
            )
        await send(client, channel, reply, message.get("thread_ts") or body["container"].get("thread_ts"))


def build_app(coach: Coach, client: AsyncWebClient, signing_secret: str | None = None) -> AsyncApp:
    """A bolt app answering DMs, mentions, /coach and button presses through ``coach``.

    Without ``signing_secret`` (Socket Mode needs none) a random one makes HTTP requests unverifiable.
    """
    app = AsyncApp(client=client, signing_secret=signing_secret or secrets.token_hex(32), name="coach")
    # Bolt logs the whole body of a request it rejects, at INFO: it may hold an API key. (Set after
    # AsyncApp(), which copies the root logger's level onto each of its loggers.)
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
    listeners = _Listeners(coach)
    app.event("message")(listeners.on_event)
    app.event("app_mention")(listeners.on_event)
    app.command("/coach")(listeners.on_command)
    app.action(ACTION_ID)(listeners.on_press)
    return app


async def run(
    coach: Coach,
    settings: Settings,
    stop: asyncio.Event | None = None,
    *,
    port: int | None = None,
    path: str = "/slack/events",
) -> None:
    """Serve Slack until ``stop`` is set: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on ``port``
    (default SLACK_PORT)."""
    settings.require("slack_bot_token", *([] if settings.slack_app_token else ["slack_signing_secret"]))
    assert settings.slack_bot_token is not None
    client = web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
    await check_token(client, app_token)
    app, stop = build_app(coach, client, secret), stop or asyncio.Event()
    if app_token is not None:
        handler = AsyncSocketModeHandler(app, app_token)
        try:
            await handler.connect_async()  # not start_async(), which sleeps forever
            await stop.wait()
        finally:
            await handler.close_async()
        return
    # app.start() runs aiohttp's run_app, which wants its own event loop; serve the same app in ours.
    port = port or settings.slack_port
    runner = web.AppRunner(app.web_app(path=path, port=port))
    await runner.setup()
    await start_site(runner, None, port, "SLACK_PORT")
    try:
        logger.info("slack: listening on port %d at %s", port, path)
        await stop.wait()
    finally:
        await runner.cleanup()
