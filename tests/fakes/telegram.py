"""A fake Telegram Bot API on a real loopback port: PTB's base_url is ``fake.api_url()``; tests push
updates, the bot long-polls them, and every call is recorded and validated as Telegram would."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import math
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from aiohttp import web

from tests.fakes import telegram_html
from tests.fakes.server import ThreadedServer

_ROUTE = re.compile(r"^/bot([^/]*)/([A-Za-z]+)$")
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")  # what @BotFather hands out; anything else is "Not Found"
MAX_TEXT = 4096
POLL_CAP = 1.0  # seconds a getUpdates may hang whatever timeout it asks, so shutdown is quick
# Telegram lets a bot send "about 30 messages per second" (Bot FAQ) and answers more with 429 "retry
# after N". Modelled as a bucket that drains 30 a second, counting every call aimed at a chat (chat
# actions and edits too: the stricter reading). It holds a tenth more than PTB's AIORateLimiter
# (30): "about" allows the jitter between a client's clock and arrival here, not a faster rate.
FLOOD_RATE = 30.0
FLOOD_SLACK = 1.1
METHODS = (
    "getMe getUpdates sendMessage editMessageText editMessageReplyMarkup answerCallbackQuery sendChatAction "
    "deleteMessage setMyCommands getMyCommands setWebhook deleteWebhook getWebhookInfo close logOut getFile"
).split()
_FILE_ROUTE = re.compile(r"^/file/bot([^/]*)/(.+)$")
MAX_DOWNLOAD = 20 * 1000 * 1000  # getFile hands out files of at most 20 MB
# Form values are JSON-decoded unless Telegram types them as strings (text "123" stays text).
_STRINGS = frozenset(
    "text parse_mode action url secret_token callback_query_id inline_message_id file_id".split()
)
_NOT_MODIFIED = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"
Json = dict[str, Any]


@dataclass
class ApiCall:
    """One request: the method, its decoded params, the HTTP status answered, when it arrived."""

    method: str
    params: Json
    status: int  # 499: the client had gone when the answer was ready (PTB cancels its poll on stop)
    at: float  # time.monotonic() on arrival


class ApiError(Exception):
    """Raised while handling a call; becomes ``{"ok": false, ...}``."""

    def __init__(self, code: int, description: str, parameters: Json | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.body = {"ok": False, "error_code": code, "description": description}
        self.body.update({"parameters": parameters} if parameters else {})


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def render(params: Json) -> tuple[str, list[Json]]:
    """The text the user sees (HTML parsed) and its entities, or the ApiError sendMessage would answer."""
    text = str(params.get("text") or "")
    html_mode = str(params.get("parse_mode") or "").lower() == "html"
    try:
        visible, entities = telegram_html.parse(text) if html_mode else (text, [])
    except telegram_html.HtmlError as exc:
        raise bad(f"can't parse entities: {exc}") from None
    if not visible.strip():
        raise bad("message text is empty")
    # tdlib counts characters (code points), not UTF-16 units: utf8_length(text) > message_text_length_max
    if len(visible) > MAX_TEXT:
        raise bad("message is too long")
    return visible, entities


def check_markup(markup: Any) -> Json | None:
    """Validate reply_markup; return what Telegram echoes back (inline keyboards only)."""
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else None
    if markup is not None and not (isinstance(rows, list) and all(isinstance(r, list) for r in rows)):
        raise bad("can't parse reply keyboard markup JSON object")
    for button in (b for row in rows or [] for b in row):
        if not isinstance(button, dict) or not button.get("text"):
            raise bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        if "callback_data" in button and not 1 <= len(str(button["callback_data"]).encode()) <= 64:
            raise bad("BUTTON_DATA_INVALID")
    return copy.deepcopy(markup) if rows else None


async def read_params(request: web.Request) -> Json:
    """Query, form, multipart or JSON parameters, with JSON-string values decoded."""
    raw: Json = dict(request.query)
    if request.content_type == "application/json":
        with contextlib.suppress(ValueError, TypeError):
            raw.update(json.loads(await request.read() or b"{}"))
    elif request.method == "POST":
        raw.update(await request.post())  # an uploaded file stays a FileField
    for key, value in raw.items():
        if isinstance(value, str) and key not in _STRINGS:
            with contextlib.suppress(ValueError):
                raw[key] = json.loads(value)
    return raw


class FakeTelegram(ThreadedServer):
    """The fake; ``calls``, ``commands`` and ``webhook`` are replaced whole, never mutated, so read them."""

    name = "fake-telegram"

    def __init__(self, token: str = "123456:TEST-token") -> None:
        super().__init__()
        self.token = token
        self.bot_user = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Coach"}
        self.bot_user.update(username="coach_test_bot", can_join_groups=True, supports_inline_queries=False)
        self._lock = threading.Lock()
        self._wake = asyncio.Event()  # binds to the server's loop on first use
        self._generation = 0  # reset() bumps it; requests from before are then not recorded
        self.reset()

    # -- control API (any thread) ---------------------------------------------------------

    def api_url(self) -> str:
        """What to pass as PTB's base_url (PTB appends the token)."""
        return f"{self.url}/bot"

    def reset(self) -> None:
        """Forget calls, messages, queued updates, injected failures, commands and the webhook."""
        with self._lock:
            self._generation += 1
            self.calls: list[ApiCall] = []
            self.commands: list[Json] = []  # the last setMyCommands
            self.webhook: Json | None = None  # the last setWebhook params; None once deleted
            self._updates: list[Json] = []
            # (chat, message_id) -> Message + "_by_bot", "_parse_mode", "_raw_text"; in send order
            self._messages: dict[tuple[int, int], Json] = {}
            self._ids: defaultdict[int, Iterator[int]] = defaultdict(lambda: itertools.count(1))  # per chat
            self._next_update = 1
            self._queries: dict[str, bool] = {}  # callback query id -> answered
            self._failures: dict[str, list[ApiError]] = {}
            self._files: dict[str, Json] = {}  # file_id -> {"data", "path", "unique"}
            self.downloads: list[str] = []  # file paths fetched from the file URL
            self.flood_rate: float | None = FLOOD_RATE  # None: no flood control
            self.flooded = 0  # calls answered 429 by flood control
            self.down = False  # True: every call is answered 502 Bad Gateway, as in an outage
            self._level, self._leaked_at = 0.0, time.monotonic()
        self._poke()

    def calls_of(self, method: str) -> list[ApiCall]:
        """The recorded calls of one method (case-insensitive, as Telegram is)."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def sent(self, chat_id: int | None = None) -> list[Json]:
        """The bot's messages as stored now (edited, not deleted), plus ``parse_mode`` and ``raw_text``."""
        with self._lock:
            mine = [m for m in self._messages.values() if m["_by_bot"] and chat_id in (None, m["chat"]["id"])]
            return [_public(m) | {"parse_mode": m["_parse_mode"], "raw_text": m["_raw_text"]} for m in mine]

    def push_message(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        first_name: str = "Ann",
        username: str | None = None,
        chat_type: str = "private",
    ) -> Json:
        """Queue an Update with a text message from a user, in a private chat unless ``chat_type`` says
        "group" or "supergroup" (then ``chat_id`` is the group's, negative as Telegram's are); returns it."""
        fields: Json = {"text": text}
        if text.startswith("/"):  # Telegram marks the command word; CommandHandler relies on it
            length = len(text.split()[0].encode("utf-16-le")) // 2
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._push_from_user(chat_id, fields, user_id, first_name, username, chat_type)

    def _push_from_user(
        self,
        chat_id: int,
        fields: Json,
        user_id: int | None = None,
        first_name: str = "Ann",
        username: str | None = None,
        chat_type: str = "private",
    ) -> Json:
        """Store and queue a user's message holding ``fields`` (its text or media); returns the Update."""
        user = {"id": user_id or chat_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
        if chat_type == "private":
            chat = {"id": chat_id, "type": chat_type, "first_name": first_name}
        else:
            assert chat_id < 0, "Telegram's group chat ids are negative"
            chat = {"id": chat_id, "type": chat_type, "title": "Riders"}
        if username:
            user["username"] = chat["username"] = username
        with self._lock:
            message = {"message_id": next(self._ids[chat_id]), "from": user, "chat": chat, **fields}
            message["date"] = int(time.time())
            self._messages[(chat_id, message["message_id"])] = {**message, "_by_bot": False}
        return self.push_update({"message": message})

    def add_file(self, data: bytes, extension: str) -> Json:
        """Store a file as Telegram would hold it; returns ``{"file_id", "file_unique_id", "file_size"}``."""
        with self._lock:
            n = len(self._files) + 1
            unique = f"AgADfile{n}"
            path = f"{'voice' if extension == 'oga' else 'documents'}/file_{n}.{extension}"
            self._files[f"BQACAgfile{n}"] = {"data": bytes(data), "path": path, "unique": unique}
        return {"file_id": f"BQACAgfile{n}", "file_unique_id": unique, "file_size": len(data)}

    def push_media(self, chat_id: int, field: str, media: Json, caption: str | None = None) -> Json:
        """Queue an Update with a message carrying ``field`` (voice, audio, photo, document) from the user."""
        return self._push_from_user(chat_id, {field: media, **({"caption": caption} if caption else {})})

    def push_callback(self, chat_id: int, message_id: int, data: str, user_id: int | None = None) -> Json:
        """Queue an Update with a button press on a stored message; returns the Update."""
        with self._lock:
            message = self._messages.get((chat_id, message_id))
            if message is None:
                raise KeyError(f"FakeTelegram has no message {message_id} in chat {chat_id}")
            user = {"id": user_id or chat_id, "is_bot": False, "first_name": "Ann"}
            query_id = str(4_000_000_000 + len(self._queries))
            self._queries[query_id] = False
            query = {"id": query_id, "from": user, "data": data}
            query.update(message=_public(message), chat_instance=str(chat_id))
        return self.push_update({"callback_query": query})

    def push_update(self, update: Json) -> Json:
        """Queue any Update (update_id assigned if missing), waking a waiting getUpdates."""
        update = copy.deepcopy(update)
        with self._lock:
            update.setdefault("update_id", self._next_update)
            self._next_update = max(self._next_update, update["update_id"]) + 1
            self._updates.append(update)
        self._poke()
        return copy.deepcopy(update)

    def fail_next(
        self, method: str, n: int = 1, *, error_code: int = 429, retry_after: int = 1, description: str = ""
    ) -> None:
        """Answer the next n calls of a method with an error (default: flood control, 429)."""
        flood = error_code == 429
        description = description or (f"Too Many Requests: retry after {retry_after}" if flood else "Error")
        error = ApiError(error_code, description, {"retry_after": retry_after} if flood else None)
        with self._lock:
            self._failures.setdefault(method.lower(), []).extend([error] * n)

    async def wait_for(self, predicate: Callable[[FakeTelegram], bool], timeout: float = 5.0) -> None:
        """Poll until predicate(self) holds, else AssertionError listing the calls (async tests)."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            self._check(deadline, timeout)
            await asyncio.sleep(0.02)

    def wait_for_sync(self, predicate: Callable[[FakeTelegram], bool], timeout: float = 5.0) -> None:
        """wait_for, blocking (sync tests, other threads)."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            self._check(deadline, timeout)
            time.sleep(0.02)

    def post_webhook(self, url: str, update: Json, secret_token: str | None = None) -> int:
        """POST an update to the bot's webhook as Telegram does; returns the HTTP status.

        It blocks: when the test's own loop serves the webhook, ``await asyncio.to_thread(...)`` it."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret_token} if secret_token else {}
        return httpx.post(url, json=update, headers=headers, timeout=5).status_code

    def _check(self, deadline: float, timeout: float) -> None:
        if time.monotonic() > deadline:
            lines = [f"{c.method} {c.status} {json.dumps(c.params, default=str)[:200]}" for c in self.calls]
            raise AssertionError(
                f"FakeTelegram: not met in {timeout}s; calls:\n  " + "\n  ".join(lines[-30:])
            )

    def _poke(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    # -- the server (its own thread) ------------------------------------------------------

    async def _shutdown(self) -> None:
        self._wake.set()  # ends pending long polls now
        await super()._shutdown()

    def _download(self, token: str, path: str) -> web.Response:
        """The file URL getFile points to: the bytes, or the Bot API's error body."""
        if token != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        with self._lock:
            found = next((f for f in self._files.values() if f["path"] == path), None)
            if found is not None:
                self.downloads = [*self.downloads, path]
        if found is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=found["data"], content_type="application/octet-stream")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived, generation = time.monotonic(), self._generation
        if download := _FILE_ROUTE.match(request.path):
            return self._download(*download.groups())
        match = _ROUTE.match(request.path)
        if match is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        token, name = match.groups()
        method = next((m for m in METHODS if m.lower() == name.lower()), name)
        params = await read_params(request)
        try:
            if self.down:
                raise ApiError(502, "Bad Gateway")
            if not _TOKEN.match(token):
                raise ApiError(404, "Not Found")
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            if method not in METHODS:
                raise ApiError(404, "Not Found: method not found")
            with self._lock:
                failures = self._failures.get(method.lower())
                if failures:
                    raise failures.pop(0)
                if "chat_id" in params:
                    self._flood_control()
                result = None if method == "getUpdates" else self._call(method, params)
            if method == "getUpdates":
                result = await self._get_updates(params, generation)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status, body = exc.code, exc.body
        if request.transport is None or request.transport.is_closing():
            status = 499
        with self._lock:
            if generation == self._generation:
                self.calls = [*self.calls, ApiCall(method, params, status, arrived)]
        return web.json_response(body, status=status)

    def _flood_control(self) -> None:
        """Count one call to a chat against the bot's budget, or refuse it as Telegram does (lock held)."""
        if self.flood_rate is None:
            return
        now = time.monotonic()
        self._level = max(0.0, self._level - (now - self._leaked_at) * self.flood_rate)
        self._leaked_at = now
        if self._level + 1 > self.flood_rate * FLOOD_SLACK:
            self.flooded += 1
            wait = math.ceil((self._level + 1 - self.flood_rate) / self.flood_rate)
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        self._level += 1

    async def _get_updates(self, params: Json, generation: int) -> list[Json]:
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 100)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), POLL_CAP)
        allowed = set(params.get("allowed_updates") or [])
        while True:
            self._wake.clear()
            with self._lock:
                if self.webhook is not None:
                    raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
                self._updates = [u for u in self._updates if u["update_id"] >= offset]  # confirms the rest
                ready = [u for u in self._updates if not allowed or set(u) - {"update_id"} <= allowed]
            remaining = deadline - time.monotonic()
            stopping = self._stopping is not None and self._stopping.is_set()
            if ready or remaining <= 0 or stopping or generation != self._generation:
                return copy.deepcopy(ready[:limit])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), remaining)

    def _call(self, method: str, p: Json) -> Any:
        """Every method but getUpdates; runs in the server thread with the lock held."""
        match method:
            case "getMe":
                return self.bot_user
            case "sendMessage":
                chat_id, (text, entities), markup = (
                    self._chat(p),
                    render(p),
                    check_markup(p.get("reply_markup")),
                )
                message = {"message_id": next(self._ids[chat_id]), "from": self.bot_user, "text": text}
                message.update({"entities": entities} if entities else {})
                message["chat"] = {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
                message.update(date=int(time.time()), **({"reply_markup": markup} if markup else {}))
                meta = {"_by_bot": True, "_parse_mode": p.get("parse_mode"), "_raw_text": p.get("text")}
                self._messages[(chat_id, message["message_id"])] = {**message, **meta}
                return copy.deepcopy(message)
            case "editMessageText" | "editMessageReplyMarkup":
                if p.get("inline_message_id"):
                    return True
                m = self._message(p, "edit")
                text, entities = (
                    render(p) if method == "editMessageText" else (m["text"], m.get("entities", []))
                )
                markup = check_markup(p.get("reply_markup"))  # absent: the keyboard goes, as in Telegram
                if not m["_by_bot"]:
                    raise bad("message can't be edited")
                if (text, entities, markup) == (m["text"], m.get("entities", []), m.get("reply_markup")):
                    raise bad(_NOT_MODIFIED)
                m.pop("reply_markup", None)
                m.pop("entities", None)
                m.update(
                    text=text, edit_date=int(time.time()), **({"entities": entities} if entities else {})
                )
                m.update({"reply_markup": markup} if markup else {})
                if method == "editMessageText":
                    m.update(_parse_mode=p.get("parse_mode"), _raw_text=p.get("text"))
                return _public(m)
            case "answerCallbackQuery":
                query_id = str(p.get("callback_query_id", ""))
                if self._queries.get(query_id) is not False:  # unknown, or answered already
                    raise bad("query is too old and response timeout expired or query ID is invalid")
                self._queries[query_id] = True
            case "sendChatAction":
                self._chat(p)
            case "deleteMessage":
                m = self._message(p, "delete")
                del self._messages[(m["chat"]["id"], m["message_id"])]
            case "setMyCommands":
                self.commands = copy.deepcopy(p.get("commands") or [])
            case "getMyCommands":
                return copy.deepcopy(self.commands)
            case "setWebhook" | "deleteWebhook":
                self.webhook = copy.deepcopy(p) if p.get("url") else None
                if p.get("drop_pending_updates"):
                    self._updates.clear()
            case "getFile":
                return self._file(p)
            case "getWebhookInfo":
                info = {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False}
                return info | {"pending_update_count": len(self._updates)}
        return True

    def _file(self, params: Json) -> Json:
        found = self._files.get(str(params.get("file_id") or ""))
        if found is None:
            raise bad("invalid file_id")
        if len(found["data"]) > MAX_DOWNLOAD:
            raise bad("file is too big")
        file = {"file_id": str(params["file_id"]), "file_unique_id": found["unique"]}
        return file | {"file_size": len(found["data"]), "file_path": found["path"]}

    def _chat(self, params: Json) -> int:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise bad("chat_id is empty" if chat_id in (None, "") else "chat not found")
        return chat_id

    def _message(self, params: Json, verb: str) -> Json:
        message = self._messages.get((self._chat(params), params.get("message_id")))
        if message is None:
            raise bad(f"message to {verb} not found")
        return message


def _public(message: Json) -> Json:
    """A stored message without the fake's bookkeeping keys (a copy)."""
    return copy.deepcopy({k: v for k, v in message.items() if not k.startswith("_")})
