"""A protocol-level fake of Gemini's generateContent REST endpoint, served on a real loopback port.

Tests script the model's replies step by step (`fake.script(text("hi"), call("f", {...}))`);
each request consumes one step, and the request bodies are recorded for assertions.
A request whose function declarations break Gemini's rules (tests/fakes/gemini_schema.py)
is refused with the API's 400 INVALID_ARGUMENT before it is recorded or consumes a step.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.gemini_schema import request_problems, wire_field
from tests.fakes.server import ThreadedServer

_ROUTE = re.compile(r"^/(v1|v1beta)/models/([^/:]+):generateContent$")
_MODEL = re.compile(r"^/(v1|v1beta)/models/([^/:]+)$")  # models.get
_LIST = re.compile(r"^/(v1|v1beta)/models$")  # models.list
# The stable models of ai.google.dev/gemini-api/docs/models at the time of writing (the 3.x Flash
# family); models.list answers these.
CURRENT_MODELS = (
    "gemini-3.5-flash",
    "gemini-3.6-flash",
    "gemini-3.7-flash",
    "gemini-3.8-flash",
    "gemini-3.5-flash-lite",
    "gemini-3.1-flash-lite",
)
# Shut down per ai.google.dev/gemini-api/docs/deprecations (gemini-2.5-flash on 2026-06-17, the 1.5
# models on 2025-09-24). A retired name answers 404 NOT_FOUND on models.get and generateContent
# alike, with the message callers of the real API report after a shutdown (openclaw/openclaw#14036
# for gemini-1.5-flash, vercel/next.js#95049: "[404 Not Found] models/gemini-1.5-flash is not found
# for API version v1beta, or is not supported for generateContent. Call ListModels ...").
RETIRED_MODELS = frozenset({"gemini-2.5-flash", "gemini-1.5-flash", "gemini-1.5-pro"})
# What the real API adds to its "API key not valid" answer (an ErrorInfo and a LocalizedMessage).
_BAD_KEY = "API key not valid. Please pass a valid API key."
_BAD_KEY_DETAILS = [
    {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
        "metadata": {"service": "generativelanguage.googleapis.com"},
    },
    {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": _BAD_KEY},
]
_TOKEN = re.compile(r"\w+|[^\w\s]")
MAX_REQUEST_BYTES = 20 * 1024 * 1024  # inline data travels in the body; bigger requests need the Files API
# The MIME types Gemini documents for inline data (ai.google.dev/gemini-api/docs: audio, image
# understanding, video, document processing); anything else is refused with a 400.
INLINE_TYPES = frozenset(
    "audio/wav audio/mp3 audio/aiff audio/aac audio/ogg audio/flac "
    "image/png image/jpeg image/webp image/heic image/heif "
    "video/mp4 video/mpeg video/mov video/avi video/x-flv video/mpg video/webm video/wmv video/3gpp "
    "application/pdf text/plain".split()
)


@dataclass(frozen=True)
class Step:
    """One scripted reply; build these with the module-level constructors, not directly."""

    parts: tuple[dict[str, Any], ...] = ()
    error: tuple[int, str, str] | None = None  # (HTTP code, status, message)
    seconds: float = 0.0
    then: Step | None = None
    fn: Callable[[dict[str, Any]], Step] | None = None
    sticky: bool = False  # forever(): never consumed


def text(t: str) -> Step:
    """The model answers with one text part."""
    return Step(parts=({"text": t},))


def call(name: str, args: dict[str, Any] | None = None, **more: Any) -> Step:
    """The model asks for one function call; keyword arguments are merged into `args`."""
    return calls((name, {**(args or {}), **more}))


def calls(*pairs: tuple[str, dict[str, Any]]) -> Step:
    """The model asks for several function calls in one response (parallel calls)."""
    parts = tuple({"functionCall": {"name": n, "args": copy.deepcopy(a)}} for n, a in pairs)
    return Step(parts=parts)


def together(*steps: Step) -> Step:
    """One response holding the parts of several steps, e.g. text beside a function call."""
    return Step(parts=tuple(part for step in steps for part in step.parts))


def raw_args(name: str, args: object) -> Step:
    """A function call with malformed arguments that the SDK still accepts.

    A dict is sent verbatim (wrong types, unknown or missing keys). Anything else is wrapped
    as `{"value": args}`: the real API always sends a JSON object (a protobuf Struct), and
    google-genai raises pydantic's ValidationError on a non-object `args`.
    """
    wrapped = args if isinstance(args, dict) else {"value": args}
    return Step(parts=({"functionCall": {"name": name, "args": copy.deepcopy(wrapped)}},))


def error(
    code: int, status: str = "UNAVAILABLE", message: str = "The model is overloaded. Please try again later."
) -> Step:
    """An HTTP error with Google's error body."""
    return Step(error=(code, status, message))


def delay(seconds: float, then: Step) -> Step:
    """Sleep `seconds` before answering with `then`."""
    return Step(seconds=seconds, then=then)


def json_reply(obj: object) -> Step:
    """A text part holding `json.dumps(obj)`, as in a structured-output response."""
    return Step(parts=({"text": json.dumps(obj)},))


def responder(fn: Callable[[dict[str, Any]], Step]) -> Step:
    """Compute the step from (a copy of) the request body; runs in the server thread."""
    return Step(fn=fn)


def forever(step: Step) -> Step:
    """Serve `step` for this and every later request; the script never moves past it."""
    return Step(then=step, sticky=True)


def count_tokens(text: str) -> int:
    """Approximate Gemini's tokenizer for `text`.

    Splits into words (`\\w+`) and single punctuation marks; a word counts ceil(len/4)
    tokens (so short words are one token and long ones several, close to the ~4 characters
    per token Google quotes for English) and each punctuation mark one. Non-empty text
    counts at least 1; empty text 0.
    """
    if not text:
        return 0
    pieces = _TOKEN.findall(text)
    return max(1, sum(math.ceil(len(p) / 4) if p[0].isalnum() or p[0] == "_" else 1 for p in pieces))


def prompt_token_count(body: dict[str, Any]) -> int:
    """P for a request body: system instruction, contents (text, calls, responses) and tools."""
    chunks = _texts(wire_field(body, "systemInstruction"))
    for content in body.get("contents") or []:
        chunks += _texts(content)
    chunks += [_dump(tool) for tool in body.get("tools") or []]
    return sum(count_tokens(c) for c in chunks)


class FakeGemini(ThreadedServer):
    """A fake Gemini API: HTTP on 127.0.0.1 in a daemon thread, answering from a script."""

    name = "fake-gemini"

    def __init__(self, api_key: str = "test-key") -> None:
        self.api_key = api_key
        super().__init__()
        self.default: Step | None = None
        self._lock = threading.Lock()
        self._script: deque[Step] = deque()
        self._requests: list[dict[str, Any]] = []
        self._models: list[str] = []
        self._prompt_tokens: list[int] = []
        self._next_call = 0

    def reset(self) -> None:
        """Forget the script, the default reply, the records and the call-id counter."""
        with self._lock:
            for store in (self._script, self._requests, self._models, self._prompt_tokens):
                store.clear()
            self.default = None
            self._next_call = 0

    def script(self, *steps: Step) -> None:
        """Append steps; each request consumes the next one (a forever() step is never consumed)."""
        with self._lock:
            self._script.extend(steps)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Decoded JSON bodies of the accepted generateContent requests, oldest first (copies)."""
        with self._lock:
            return copy.deepcopy(self._requests)

    @property
    def models(self) -> list[str]:
        """The model named in each accepted request's URL."""
        with self._lock:
            return list(self._models)

    @property
    def prompt_tokens(self) -> list[int]:
        """The promptTokenCount computed for each accepted request."""
        with self._lock:
            return list(self._prompt_tokens)

    def last_request(self) -> dict[str, Any]:
        """The most recent request body."""
        return self._request(-1)

    def system_instruction(self, i: int = -1) -> str:
        """Text of request i's systemInstruction (parts joined by newlines; "" when absent)."""
        return "\n".join(_texts(wire_field(self._request(i), "systemInstruction"), only_text=True))

    def generation_config(self, i: int = -1) -> dict[str, Any]:
        """The generationConfig of request ``i`` (thinking, structured output...)."""
        return dict(wire_field(self._request(i), "generationConfig") or {})

    def declared_tools(self, i: int = -1) -> list[str]:
        """Names of the function declarations in request i."""
        names = []
        for tool in self._request(i).get("tools") or []:
            for decl in wire_field(tool, "functionDeclarations") or []:
                names.append(decl.get("name"))
        return names

    def function_responses(self, i: int = -1) -> list[dict[str, Any]]:
        """`{"name", "response"}` of each functionResponse part in the last content of request i."""
        contents = self._request(i).get("contents") or []
        parts = (contents[-1].get("parts") or []) if contents else []
        found = [wire_field(p, "functionResponse") for p in parts]
        return [{"name": f.get("name"), "response": f.get("response")} for f in found if f is not None]

    def user_texts(self, i: int = -1) -> list[str]:
        """Text parts of request i's user-role contents (a missing role counts as user)."""
        contents = self._request(i).get("contents") or []
        return [t for c in contents if c.get("role", "user") == "user" for t in _texts(c, only_text=True)]

    def inline_parts(self, i: int = -1) -> list[dict[str, Any]]:
        """``{"mime_type", "data"}`` (bytes decoded) of each inline part of request i, in order."""
        return [
            {"mime_type": wire_field(blob, "mimeType"), "data": _bytes(blob.get("data") or "")}
            for _, _, blob in _inline_blobs(self._request(i))
        ]

    def _request(self, i: int) -> dict[str, Any]:
        with self._lock:
            if not -len(self._requests) <= i < len(self._requests):
                raise IndexError(f"FakeGemini has no request {i}; it saw {len(self._requests)}")
            return copy.deepcopy(self._requests[i])

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        match = _ROUTE.match(request.path)
        about = _MODEL.match(request.path) if request.method == "GET" else None
        listing = request.method == "GET" and _LIST.match(request.path) is not None
        if (request.method != "POST" or match is None) and about is None and not listing:
            return _error(404, "NOT_FOUND", f"Method not found: {request.method} {request.path}")
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key:
            return _error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
        if key != self.api_key:
            return _error(400, "INVALID_ARGUMENT", _BAD_KEY, _BAD_KEY_DETAILS)
        if listing:
            return web.json_response({"models": [_model_info(name) for name in CURRENT_MODELS]})
        named = (about or match).group(2)  # type: ignore[union-attr]
        if named in RETIRED_MODELS:
            return _error(
                404,
                "NOT_FOUND",
                f"models/{named} is not found for API version v1beta, or is not supported for "
                "generateContent. Call ListModels to see the list of available models and their "
                "supported methods.",
            )
        if about is not None:
            return web.json_response(_model_info(about.group(2)))
        assert match is not None
        raw = await request.read()
        if len(raw) > MAX_REQUEST_BYTES:
            return _error(
                400, "INVALID_ARGUMENT", f"Request payload size exceeds the limit: {MAX_REQUEST_BYTES} bytes."
            )
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        if not isinstance(body, dict):
            return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.")
        problems = request_problems(body)
        if problems:
            return _error(400, "INVALID_ARGUMENT", problems.message())
        refused = _inline_problem(body) or _thinking_problem(body)
        if refused is not None:
            return _error(400, "INVALID_ARGUMENT", refused)
        model = match.group(2)
        prompt = prompt_token_count(body)
        with self._lock:
            self._requests.append(copy.deepcopy(body))
            self._models.append(model)
            self._prompt_tokens.append(prompt)
            seen = len(self._requests)
            step = self._script[0] if self._script else self.default
            if self._script and not self._script[0].sticky:
                self._script.popleft()
        if step is None:
            return _error(500, "INTERNAL", f"FakeGemini: the script ran out at request #{seen}")
        while True:
            if step.sticky:
                assert step.then is not None
                step = step.then
            elif step.fn is not None:
                try:
                    step = step.fn(copy.deepcopy(body))
                except Exception as exc:  # noqa: BLE001 - surfaced to the test as a 500
                    return _error(500, "INTERNAL", f"FakeGemini responder failed: {exc!r}")
            elif step.then is not None:
                if await self._sleep(step.seconds):
                    return _drop(request)
                step = step.then
            else:
                break
        if step.error is not None:
            return _error(*step.error)
        return web.json_response(self._reply(step, model, prompt, seen))

    def _reply(self, step: Step, model: str, prompt: int, seen: int) -> dict[str, Any]:
        parts = copy.deepcopy(list(step.parts))
        with self._lock:
            for part in parts:
                if "functionCall" in part and "id" not in part["functionCall"]:
                    self._next_call += 1
                    part["functionCall"]["id"] = f"call-{self._next_call}"
        completion = sum(count_tokens(c) for c in _texts({"parts": parts}))
        return {
            "candidates": [
                {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {
                "promptTokenCount": prompt,
                "candidatesTokenCount": completion,
                "totalTokenCount": prompt + completion,
            },
            "modelVersion": model,
            "responseId": f"fake-response-{seen}",
        }


def _dump(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _texts(content: object, only_text: bool = False) -> list[str]:
    """Text of a Content (or bare string); unless only_text, calls and responses as JSON too."""
    if isinstance(content, str):
        return [content]
    out = []
    for part in (content.get("parts") or []) if isinstance(content, dict) else []:
        if isinstance(part.get("text"), str):
            out.append(part["text"])
        elif not only_text:
            for key in ("functionCall", "functionResponse"):
                if wire_field(part, key) is not None:
                    out.append(_dump(wire_field(part, key)))
    return out


def _bytes(data: str) -> bytes:
    """A proto JSON bytes field: standard or URL-safe base64, padded or not; ValueError otherwise."""
    standard = data.replace("-", "+").replace("_", "/")
    return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)


def _inline_blobs(body: dict[str, Any]) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(content index, part index, inlineData) of every inline part of a request body."""
    for i, content in enumerate(body.get("contents") or []):
        for j, part in enumerate((content.get("parts") or []) if isinstance(content, dict) else []):
            blob = wire_field(part, "inlineData")
            if blob is not None:
                yield i, j, blob


def _inline_problem(body: dict[str, Any]) -> str | None:
    """Why Gemini would refuse the request's inline data (its MIME type or its bytes), else None."""
    for i, j, blob in _inline_blobs(body):
        if wire_field(blob, "mimeType") not in INLINE_TYPES:
            return f"Unsupported MIME type: {wire_field(blob, 'mimeType')}"
        try:
            _bytes(str(blob.get("data") or ""))
        except ValueError:
            where = f"contents[{i}].parts[{j}].inline_data.data"
            return f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed"
    return None


def _thinking_problem(body: dict[str, Any]) -> str | None:
    """ai.google.dev/gemini-api/docs/thinking: "You cannot use both thinking_level and the legacy
    thinking_budget parameter in the same request. Doing so will return a 400 error." """
    config = wire_field(wire_field(body, "generationConfig") or {}, "thinkingConfig") or {}
    if wire_field(config, "thinkingLevel") is not None and wire_field(config, "thinkingBudget") is not None:
        return "Unable to submit request because thinking_level and thinking_budget are both set."
    return None


def _model_info(name: str) -> dict[str, Any]:
    """A models.get answer, shaped like the real one for a Gemini model."""
    return {
        "name": f"models/{name}",
        "version": "001",
        "displayName": name,
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
    }


def _error(code: int, status: str, message: str, details: list[dict[str, Any]] | None = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    body.update({"details": details} if details else {})
    return web.json_response({"error": body}, status=code)


def _drop(request: web.Request) -> web.Response:
    """Close the connection with nothing written; aiohttp then fails to send the reply quietly."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=499)
