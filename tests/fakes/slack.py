"""A fake Slack Web API on a loopback port, plus builders of the signed requests Slack sends to an app.

Point ``AsyncWebClient(token=fake.token, base_url=fake.url + "/")`` at it. It answers the
methods Coach uses, checks the bot token and Block Kit limits like Slack does, records every
call and keeps the channel history, so tests assert on what a user would see. It also plays
Socket Mode: ``apps.connections.open`` (with the app token) hands out a websocket on which
``socket_send`` pushes envelopes and ``socket_acks`` collects the app's acknowledgements.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import threading
import time
import uuid
from collections import defaultdict, deque
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web
from slack_sdk.signature import SignatureVerifier

from tests.fakes.server import ThreadedServer

TEAM_ID, BOT_USER_ID, BOT_ID, APP_ID = "T111", "UBOT", "B111", "A111"
TOKEN, APP_TOKEN = "xoxb-test-token", "xapp-test-token"
SIGNING_SECRET = "test-signing-secret"

# Limits from Slack's Block Kit reference (and slack-sdk's validators).
MAX_BLOCKS, MAX_SECTION_TEXT, MAX_ACTIONS, MAX_BUTTON_TEXT, MAX_VALUE, MAX_ACTION_ID = (
    50, 3000, 25, 75, 2000, 255,
)  # fmt: skip
# A markdown block's text, and all markdown blocks of one payload together (Block Kit reference).
MAX_MARKDOWN = 12_000
MAX_TEXT = 40_000  # longer message text is cut and posted with a message_truncated warning

_counter = itertools.count(1)


def _new_ts() -> str:
    return f"1700000000.{next(_counter) * 100:06d}"


def _blocks_errors(blocks: list[Any]) -> list[str]:
    """Why Slack would answer ``invalid_blocks``, in its words ("... [json-pointer:/blocks/0/text]"); [] if valid."""
    if len(blocks) > MAX_BLOCKS:
        return [f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"]
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        at = f"[json-pointer:/blocks/{i}"
        if kind == "section":
            text = (block.get("text") or {}).get("text", "")
            if not text:
                return [f"must be more than 0 characters {at}/text/text]"]
            if len(text) > MAX_SECTION_TEXT:
                return [f"failed to match all allowed schemas {at}/text]",
                        f"must be less than {MAX_SECTION_TEXT + 1} characters {at}/text/text]"]  # fmt: skip
        elif kind == "markdown":
            text = block.get("text")
            if not isinstance(text, str) or not text:
                return [f"must be more than 0 characters {at}/text]"]
            if len(text) > MAX_MARKDOWN:
                return [f"must be less than {MAX_MARKDOWN + 1} characters {at}/text]"]
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= MAX_ACTIONS:
                return [f"no more than {MAX_ACTIONS} items allowed {at}/elements]"]
            ids = [e.get("action_id") for e in elements]
            if len(set(ids)) != len(ids):
                return [f"action_id must be unique within a block {at}/elements]"]
            for j, e in enumerate(elements):
                if e.get("type") != "button":
                    continue
                if not 1 <= len(e.get("text", {}).get("text", "")) <= MAX_BUTTON_TEXT:
                    return [
                        f"must be less than {MAX_BUTTON_TEXT + 1} characters {at}/elements/{j}/text/text]"
                    ]
                if len(e.get("value", "")) > MAX_VALUE:
                    return [f"must be less than {MAX_VALUE + 1} characters {at}/elements/{j}/value]"]
                if len(e.get("action_id", "")) > MAX_ACTION_ID:
                    return [f"must be less than {MAX_ACTION_ID + 1} characters {at}/elements/{j}/action_id]"]
        elif kind not in {"context", "divider", "header", "rich_text", "image"}:
            return [f"failed to match all allowed schemas {at}]"]
    return []


def _refuse_blocks(blocks: Any) -> dict[str, Any] | None:
    """Slack's answer to blocks it refuses, or None."""
    if not isinstance(blocks, list):
        return {"ok": False, "error": "invalid_blocks_format"}
    if errors := _blocks_errors(blocks):
        messages = [f"[ERROR] {e}" for e in errors]
        return {
            "ok": False,
            "error": "invalid_blocks",
            "errors": errors,
            "response_metadata": {"messages": messages},
        }
    markdown = sum(len(b["text"]) for b in blocks if b.get("type") == "markdown")
    if markdown > MAX_MARKDOWN:
        return {"ok": False, "error": "msg_blocks_too_long"}
    return None


class FakeSlack(ThreadedServer):
    """The Web API methods Coach calls, and ``POST /response/<id>`` standing in for response_url."""

    name = "fake-slack"

    def __init__(self, token: str = TOKEN, app_token: str = APP_TOKEN) -> None:
        super().__init__()
        self.token, self.app_token = token, app_token
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._calls: list[tuple[str, dict[str, Any]]] = []
        self._messages: list[dict[str, Any]] = []
        self._ephemeral: list[dict[str, Any]] = []
        self._responses: list[tuple[str, dict[str, Any]]] = []
        self._failures: dict[str, deque[tuple[str, int, int]]] = defaultdict(deque)
        self._files: dict[str, tuple[dict[str, Any], bytes]] = {}  # id -> (file object, content)
        self.downloads: list[str] = []  # file ids fetched from their private URL

    def reset(self) -> None:
        """Forget calls, messages, responses, files and scripted failures."""
        with self._lock:
            for store in (self._calls, self._messages, self._ephemeral, self._responses, self._acks):
                store.clear()
            self._failures.clear()
            self._files.clear()
            self.downloads = []

    def add_file(
        self, name: str, mimetype: str, content: bytes, user: str = "U1", **extra: Any
    ) -> dict[str, Any]:
        """Store an uploaded file; returns its file object as files.info shows it (``extra``: subtype, duration_ms)."""
        with self._lock:
            file_id = f"F{len(self._files) + 1:08d}"
            url = f"{self.url}/files-pri/{TEAM_ID}-{file_id}/{name}"
            file = {
                "id": file_id, "created": int(time.time()), "name": name, "title": name, "mimetype": mimetype,
                "filetype": name.rsplit(".", 1)[-1], "user": user, "size": len(content), "mode": "hosted",
                "is_external": False, "url_private": url,
                "url_private_download": f"{self.url}/files-pri/{TEAM_ID}-{file_id}/download/{name}", **extra,
            }  # fmt: skip
            self._files[file_id] = (file, bytes(content))
        return copy.deepcopy(file)

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every Web API call as (method, params), oldest first (a copy)."""
        with self._lock:
            return copy.deepcopy(self._calls)

    def called(self, method: str) -> list[dict[str, Any]]:
        """The params of each call to ``method``."""
        return [params for name, params in self.calls if name == method]

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Posted messages as they look now (after updates): channel, ts, thread_ts, text, blocks."""
        with self._lock:
            return [copy.deepcopy(m) for m in self._messages if channel in (None, m["channel"])]

    def message(self, ts: str) -> dict[str, Any]:
        """One posted message by its ts."""
        [found] = [m for m in self.messages() if m["ts"] == ts]
        return found

    def ephemeral(self) -> list[dict[str, Any]]:
        """Messages sent with chat.postEphemeral."""
        with self._lock:
            return copy.deepcopy(self._ephemeral)

    def responses(self, response_id: str | None = None) -> list[dict[str, Any]]:
        """Bodies posted to ``/response/<id>`` (all ids when None)."""
        with self._lock:
            return [copy.deepcopy(b) for i, b in self._responses if response_id in (None, i)]

    def fail_next(
        self, method: str, error: str = "ratelimited", status: int = 429, retry_after: int = 1
    ) -> None:
        """Make the next call to ``method`` fail; 429s carry a Retry-After header."""
        with self._lock:
            self._failures[method].append((error, status, retry_after))

    @property
    def sockets_open(self) -> int:
        """How many Socket Mode connections are open."""
        with self._lock:
            return sum(not ws.closed for ws in self._sockets)

    def socket_send(self, kind: str, payload: dict[str, Any]) -> str:
        """Push an envelope (kind: events_api, interactive or slash_commands) to the newest socket."""
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload, "retry_attempt": 0,
                    "retry_reason": "", "accepts_response_payload": kind != "events_api"}  # fmt: skip
        assert self._loop is not None and self._sockets, "no Socket Mode connection"
        asyncio.run_coroutine_threadsafe(self._sockets[-1].send_json(envelope), self._loop).result(5)
        return envelope_id

    def socket_acks(self) -> list[dict[str, Any]]:
        """The app's acknowledgements, each ``{"envelope_id": ..., "payload"?: ...}``."""
        with self._lock:
            return copy.deepcopy(self._acks)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        with self._lock:
            self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": APP_ID}})
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                with self._lock:
                    self._acks.append(json.loads(message.data))
        return ws

    async def _shutdown(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        await super()._shutdown()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path.strip("/")
        if path == "socket":
            return await self._socket(request)
        if path.startswith("files-pri/"):
            return self._download(request, path)
        params = await _params(request)
        if path.startswith("response/"):
            with self._lock:
                self._responses.append((path.removeprefix("response/"), params))
            return web.Response(text="ok")
        if path == "apps.connections.open":
            ok = request.headers.get("Authorization") == f"Bearer {self.app_token}"
            socket_url = "ws" + self.url.removeprefix("http") + "/socket"
            return _answer({"ok": True, "url": socket_url} if ok else {"ok": False, "error": "invalid_auth"})
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _answer(
                {
                    "ok": False,
                    "error": "not_authed" if "Authorization" not in request.headers else "invalid_auth",
                }
            )
        with self._lock:
            self._calls.append((path, copy.deepcopy(params)))
            failures = self._failures.get(path)
            if failures:
                error, status, retry_after = failures.popleft()
                headers = {"Retry-After": str(retry_after)} if status == 429 else {}
                return _answer({"ok": False, "error": error}, status, headers)
            return _answer(self._method(path, params))

    def _download(self, request: web.Request, path: str) -> web.Response:
        """A private file URL: the bytes for the bot token, 401 without a token, 403 with another."""
        auth = request.headers.get("Authorization")
        if auth is None:
            return web.Response(status=401, text="Unauthorized")
        if auth != f"Bearer {self.token}":
            return web.Response(status=403, text="Forbidden")
        file_id = path.split("/")[1].split("-", 1)[-1]
        with self._lock:
            found = self._files.get(file_id)
            if found is not None:
                self.downloads = [*self.downloads, file_id]
        if found is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=found[1], content_type=found[0]["mimetype"] or "application/octet-stream")

    def _files_info(self, p: dict[str, Any]) -> dict[str, Any]:
        found = self._files.get(str(p.get("file") or ""))
        if found is None:
            return {"ok": False, "error": "file_not_found"}
        return {
            "ok": True,
            "file": copy.deepcopy(found[0]),
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }

    def _method(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        """Run one Web API method on the recorded state (the lock is held)."""
        if method == "auth.test":
            return {
                "ok": True, "url": "https://coach-test.slack.com/", "team": "Coach Test", "user": "coach",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False,
            }  # fmt: skip
        if method == "conversations.open":
            users = str(p.get("users", ""))
            if not users:
                return {"ok": False, "error": "users_list_not_supplied"}
            return {"ok": True, "channel": {"id": "D" + users.split(",")[0]}}
        if method == "files.info":
            return self._files_info(p)
        if method == "reactions.add" or method == "reactions.remove":
            if not (p.get("channel") and p.get("timestamp") and p.get("name")):
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True}
        if method not in {"chat.postMessage", "chat.update", "chat.postEphemeral"}:
            return {"ok": False, "error": "unknown_method"}
        if not p.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        blocks = json.loads(p["blocks"]) if isinstance(p.get("blocks"), str) else p.get("blocks")
        if not p.get("text") and not blocks:
            return {"ok": False, "error": "no_text"}
        if blocks is not None and (refused := _refuse_blocks(blocks)):
            return refused
        fields = {"text": str(p.get("text", ""))[:MAX_TEXT], "blocks": blocks or []}
        truncated = len(str(p.get("text", ""))) > MAX_TEXT
        warning = {
            "warning": "message_truncated",
            "response_metadata": {
                "warnings": ["message_truncated"],
                "messages": [f"[WARN] Your message was truncated but still posted. The `text` field accepts up to {MAX_TEXT:,} characters."],
            },
        } if truncated else {}  # fmt: skip
        if method == "chat.postEphemeral":
            self._ephemeral.append({"channel": p["channel"], "user": p.get("user"), **fields})
            return {"ok": True, "message_ts": _new_ts()}
        if method == "chat.update":
            found = [m for m in self._messages if m["channel"] == p["channel"] and m["ts"] == p.get("ts")]
            if not found:
                return {"ok": False, "error": "message_not_found"}
            found[0].update(fields, edited=True)
            return {
                "ok": True,
                "channel": p["channel"],
                "ts": p["ts"],
                "text": fields["text"],
                "message": found[0],
                **warning,
            }
        message = {
            "type": "message", "channel": p["channel"], "ts": _new_ts(), "thread_ts": p.get("thread_ts"),
            "user": BOT_USER_ID, "bot_id": BOT_ID, "edited": False, **fields,
        }  # fmt: skip
        self._messages.append(message)
        return {
            "ok": True,
            "channel": p["channel"],
            "ts": message["ts"],
            "message": copy.deepcopy(message),
            **warning,
        }


async def _params(request: web.Request) -> dict[str, Any]:
    # slack-sdk sends some methods' arguments (conversations.open, reactions.*) in the query string.
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        params.update(body if isinstance(body, dict) else {})
    else:
        params.update(await request.post())
    return params


def _answer(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


# ---- requests Slack sends to the app -------------------------------------------------------------


def signed_body_headers(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack sends with ``body``: its content type and a valid request signature."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    kind = "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
    return {"content-type": kind, "x-slack-request-timestamp": stamp, "x-slack-signature": signature}


def _event(event: dict[str, Any]) -> str:
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": {**event, "event_ts": event["ts"], "team": TEAM_ID},
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }  # fmt: skip
            ],
            "is_ext_shared_channel": False,
        }
    )


def event_message(
    user: str, channel: str, text: str, channel_type: str = "im", ts: str | None = None, **extra: Any
) -> str:
    """A ``message`` event (``extra`` adds e.g. subtype, bot_id or thread_ts)."""
    return _event(
        {
            "type": "message",
            "client_msg_id": str(uuid.uuid4()),
            "user": user,
            "text": text,
            "ts": ts or _new_ts(),
            "channel": channel,
            "channel_type": channel_type,
            **extra,
        }  # fmt: skip
    )


def event_app_mention(user: str, channel: str, text: str, ts: str) -> str:
    """An ``app_mention`` event from a channel."""
    return _event({"type": "app_mention", "client_msg_id": str(uuid.uuid4()), "user": user, "text": text,
                   "ts": ts, "channel": channel})  # fmt: skip


def block_action(
    user: str,
    channel: str,
    message_ts: str,
    action_id: str,
    value: str,
    response_url: str,
    *,
    message: dict[str, Any] | None = None,
    label: str | None = None,
) -> str:
    """A button press on a message; pass the ``message`` as posted so the payload carries it, as Slack's does."""
    shown = dict(message or {"type": "message", "ts": message_ts, "text": "", "blocks": []})
    shown.pop("channel", None)
    container = {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False}
    if shown.get("thread_ts"):
        container["thread_ts"] = shown["thread_ts"]
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": container,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}",
        "team": {"id": TEAM_ID, "domain": "coach-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "directmessage" if channel.startswith("D") else "general"},
        "message": shown,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "coach_buttons",
                "value": value,
                "text": {"type": "plain_text", "text": label or value, "emoji": True},
                "action_ts": f"{time.time():.6f}",
            }  # fmt: skip
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def slash_command(user: str, channel: str, text: str, response_url: str, command: str = "/coach") -> str:
    """A slash command's form body."""
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "coach-test",
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}",
        }
    )
