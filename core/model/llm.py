"""The model behind one small seam, and its Gemini implementation (google-genai, async).

Contents are plain dicts in Gemini's wire shape (``{"role", "parts"}``), so
history can be stored as JSON and replayed to any process.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import httpx
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from core import clock
from core.config import DEFAULT_GEMINI_MODEL
from core.errors import CoachError, StartupError
from core.model.lifecycle import retirement_warning
from core.model.thinking import Job, thinking_for

logger = logging.getLogger(__name__)


class ModelUnavailable(CoachError):
    """The model could not be reached or answered with an error: apologise, keep the message."""


class MediaRejected(ModelUnavailable):
    """Gemini refused a recording or picture sent inline (its type or its size): sending it again won't help."""


# What Gemini's 400 says about inline data it won't take.
_MEDIA_PROBLEMS = ("MIME type", "payload size", "inline_data")


def _refused_media(exc: BaseException) -> bool:
    message = getattr(exc, "message", None) or ""
    return (
        isinstance(exc, genai_errors.ClientError)
        and exc.code == 400
        and any(p in message for p in _MEDIA_PROBLEMS)
    )


@dataclass(frozen=True)
class FunctionCall:
    """One tool call the model asked for."""

    name: str
    args: Any
    id: str | None = None


@dataclass(frozen=True)
class ModelTurn:
    """One model response: text or function calls, plus the content to append to history."""

    text: str
    calls: list[FunctionCall]
    content: dict[str, Any]
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    model_version: str = ""


@dataclass(frozen=True)
class Structured:
    """A structured-output answer: the parsed JSON, the model version and the tokens it cost."""

    data: Any
    model_version: str
    tokens: int = 0


class Model(Protocol):
    """What the conversation and the planner need from a model."""

    async def generate(
        self, system: str, contents: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> ModelTurn:
        """One round trip with tool declarations."""
        ...

    async def generate_json(
        self, system: str, prompt: str, schema: dict[str, Any], job: Job = "plan"
    ) -> Structured:
        """Structured output matching ``schema``."""
        ...


# What a failed round trip can raise through google-genai's transports.
_TRANSPORT_ERRORS = (
    genai_errors.APIError,
    aiohttp.ClientError,
    httpx.HTTPError,
    asyncio.TimeoutError,
    TimeoutError,
    ConnectionError,
)


def _output_tokens(usage: types.GenerateContentResponseUsageMetadata | None) -> int | None:
    """What the response costs beyond its prompt: the answer and, on thinking models, the thoughts."""
    if usage is None:
        return None
    return (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)


@dataclass
class GeminiModel:
    """Gemini through google-genai's async client."""

    api_key: str
    model: str = DEFAULT_GEMINI_MODEL
    base_url: str | None = None
    timeout: float = 30.0
    thinking: str | None = None  # GEMINI_THINKING; None: each job's own (core.model.thinking)
    _client: genai.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        options = types.HttpOptions(timeout=int(self.timeout * 1000))
        if self.base_url:
            options.base_url = self.base_url
        self._client = genai.Client(api_key=self.api_key, http_options=options)

    async def _call(
        self, contents: Any, config: types.GenerateContentConfig
    ) -> types.GenerateContentResponse:
        try:
            return await self._client.aio.models.generate_content(
                model=self.model, contents=contents, config=config
            )
        except _TRANSPORT_ERRORS as exc:
            if _refused_media(exc):
                logger.warning("model refused inline media: %s", getattr(exc, "message", ""))
                raise MediaRejected("The coaching model couldn't read that file.") from None
            detail = getattr(exc, "code", None) or type(exc).__name__
            logger.warning("model call failed: %s", detail)
            raise ModelUnavailable(f"The coaching model is unavailable ({detail}).") from None

    async def generate(
        self, system: str, contents: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> ModelTurn:
        """One round trip; function calls are returned, never executed here."""
        config = types.GenerateContentConfig(
            system_instruction=system,
            tools=[types.Tool(function_declarations=[types.FunctionDeclaration(**t) for t in tools])],
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            thinking_config=thinking_for(self.model, "chat", self.thinking),
        )
        response = await self._call(contents, config)
        candidate = (response.candidates or [None])[0]
        if candidate is None or candidate.content is None:
            return ModelTurn(text="", calls=[], content={"role": "model", "parts": [{"text": ""}]})
        parts = candidate.content.parts or []
        calls = [
            FunctionCall(p.function_call.name or "", p.function_call.args, p.function_call.id)
            for p in parts
            if p.function_call is not None
        ]
        text = "".join(p.text for p in parts if p.text and not p.thought)
        usage = response.usage_metadata
        return ModelTurn(
            text=text.strip(),
            calls=calls,
            content=candidate.content.model_dump(mode="json", exclude_none=True),
            prompt_tokens=usage.prompt_token_count if usage else None,
            output_tokens=_output_tokens(usage),
            model_version=response.model_version or self.model,
        )

    async def generate_json(
        self, system: str, prompt: str, schema: dict[str, Any], job: Job = "plan"
    ) -> Structured:
        """Ask for JSON matching ``schema`` (structured output), thinking as much as ``job`` needs."""
        config = types.GenerateContentConfig(
            system_instruction=system,
            response_mime_type="application/json",
            response_json_schema=schema,
            thinking_config=thinking_for(self.model, job, self.thinking),
        )
        response = await self._call([{"role": "user", "parts": [{"text": prompt}]}], config)
        usage = response.usage_metadata
        tokens = ((usage.prompt_token_count or 0) + (_output_tokens(usage) or 0)) if usage else 0
        try:
            return Structured(json.loads(response.text or ""), response.model_version or self.model, tokens)
        except ValueError:
            raise ModelUnavailable("The model returned a plan that is not valid JSON.") from None

    async def current_flash_models(self) -> list[str]:
        """Names of the Flash models the key may call (``models.list``); empty when it can't list them."""
        names = []
        try:
            async for info in await self._client.aio.models.list():
                name = (info.name or "").removeprefix("models/")
                if "flash" in name and "generateContent" in (info.supported_actions or []):
                    names.append(name)
        except _TRANSPORT_ERRORS:
            return []
        return sorted(names)

    async def check(self) -> None:
        """Fetch the model's metadata (free, no tokens) to learn at start whether the key and model are good.

        A refused key or a model the API does not know (404: a retired or mistyped name) is a
        StartupError; a model close to its announced shutdown a warning; an outage only a warning,
        since turns apologise and retry.
        """
        try:
            await self._client.aio.models.get(model=self.model)
        except genai_errors.ClientError as exc:
            if exc.code == 404:
                names = await self.current_flash_models()
                some = f" such as {', '.join(names[:6])}" if names else ""
                raise StartupError(
                    f"Gemini does not know GEMINI_MODEL={self.model} (404 {exc.status}; shut down or "
                    f"mistyped): set GEMINI_MODEL to a current model{some}."
                ) from None
            if exc.code not in (400, 401, 403):
                logger.warning("model check: %s %s", exc.code, exc.status)
                return
            raise StartupError(
                f"Gemini refused GEMINI_API_KEY ({exc.message or exc.status}): "
                "create a key at https://aistudio.google.com/apikey and set GEMINI_API_KEY."
            ) from None
        except _TRANSPORT_ERRORS as exc:
            logger.warning(
                "model check failed (%s); starting anyway", getattr(exc, "code", None) or type(exc).__name__
            )
            return
        warning = retirement_warning(self.model, clock.now().date())
        if warning:
            logger.warning("%s", warning)

    async def aclose(self) -> None:
        """Close the HTTP sessions."""
        await self._client.aio.aclose()
        self._client.close()
