"""Tests of the fake Gemini server itself, driven by the real google-genai client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pydantic
import pytest
from google import genai
from google.genai import errors, types

from tests.fakes.gemini import (
    FakeGemini,
    call,
    calls,
    count_tokens,
    delay,
    error,
    forever,
    json_reply,
    raw_args,
    responder,
    text,
)

MODEL = "gemini-3.8-flash"
NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)
WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Weather for a city.",
    parameters_json_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
PLAN = types.FunctionDeclaration(
    name="plan_workout",
    description="Plan a workout.",
    parameters=types.Schema(type="OBJECT", properties={"date": types.Schema(type="STRING")}),
)


def make_client(fake: FakeGemini, timeout_ms: int = 5000, **options: Any) -> genai.Client:
    return genai.Client(
        api_key=options.pop("api_key", "test-key"),
        http_options=types.HttpOptions(base_url=fake.url, timeout=timeout_ms, **options),
    )


async def close(client: genai.Client) -> None:
    await client.aio.aclose()
    client.close()


@pytest.fixture
async def client(fake_gemini: FakeGemini) -> AsyncIterator[genai.Client]:
    c = make_client(fake_gemini)
    yield c
    await close(c)


async def ask(client: genai.Client, contents: Any = "hi", **config: Any) -> types.GenerateContentResponse:
    cfg = types.GenerateContentConfig(automatic_function_calling=NO_AFC, **config)
    return await client.aio.models.generate_content(model=MODEL, contents=contents, config=cfg)


# -- replies -------------------------------------------------------------------------


async def test_text_reply(fake_gemini: FakeGemini, client: genai.Client) -> None:
    fake_gemini.script(text("It is sunny."))
    r = await ask(client)
    assert r.text == "It is sunny."
    assert r.function_calls is None
    assert r.model_version == MODEL
    assert r.response_id == "fake-response-1"
    assert r.candidates and r.candidates[0].finish_reason == types.FinishReason.STOP
    assert fake_gemini.models == [MODEL]


async def test_one_function_call_with_id(fake_gemini: FakeGemini, client: genai.Client) -> None:
    fake_gemini.script(call("get_weather", {"city": "Paris"}, units="metric"))
    r = await ask(client)
    assert r.function_calls is not None and len(r.function_calls) == 1
    fc = r.function_calls[0]
    assert (fc.name, fc.args, fc.id) == ("get_weather", {"city": "Paris", "units": "metric"}, "call-1")


async def test_parallel_calls_get_distinct_ids(fake_gemini: FakeGemini, client: genai.Client) -> None:
    fake_gemini.script(calls(("get_weather", {"city": "Paris"}), ("plan_workout", {"date": "2025-01-02"})))
    r = await ask(client)
    assert r.function_calls is not None
    assert [(c.name, c.args, c.id) for c in r.function_calls] == [
        ("get_weather", {"city": "Paris"}, "call-1"),
        ("plan_workout", {"date": "2025-01-02"}, "call-2"),
    ]


async def test_raw_args_dict_is_verbatim_and_non_objects_are_wrapped(
    fake_gemini: FakeGemini, client: genai.Client
) -> None:
    fake_gemini.script(
        raw_args("plan_workout", {"date": 123, "bogus": [1]}), raw_args("plan_workout", "tomorrow")
    )
    first, second = await ask(client), await ask(client)
    assert first.function_calls and first.function_calls[0].args == {"date": 123, "bogus": [1]}
    assert second.function_calls and second.function_calls[0].args == {"value": "tomorrow"}


async def test_responder_sees_the_request(fake_gemini: FakeGemini, client: genai.Client) -> None:
    fake_gemini.script(responder(lambda body: text(f"echo: {body['contents'][-1]['parts'][0]['text']}")))
    assert (await ask(client, "ping")).text == "echo: ping"


async def test_forever_serves_every_request(fake_gemini: FakeGemini, client: genai.Client) -> None:
    fake_gemini.script(forever(call("get_weather", {"city": "Oslo"})), text("never reached"))
    ids = []
    for _ in range(4):
        r = await ask(client)
        assert r.function_calls and r.function_calls[0].name == "get_weather"
        ids.append(r.function_calls[0].id)
    assert ids == ["call-1", "call-2", "call-3", "call-4"]


async def test_default_then_exhaustion(fake_gemini: FakeGemini, client: genai.Client) -> None:
    fake_gemini.script(text("scripted"))
    fake_gemini.default = text("fallback")
    assert [(await ask(client)).text for _ in range(3)] == ["scripted", "fallback", "fallback"]
    fake_gemini.default = None
    with pytest.raises(errors.ServerError) as caught:
        await ask(client)
    assert caught.value.code == 500 and "script ran out" in str(caught.value.message)


# -- recording -----------------------------------------------------------------------


async def test_request_body_is_recorded(fake_gemini: FakeGemini, client: genai.Client) -> None:
    fake_gemini.script(call("get_weather", {"city": "Paris"}), text("Sunny in Paris."))
    config: dict[str, Any] = {
        "system_instruction": "You are a cycling coach.",
        "tools": [types.Tool(function_declarations=[WEATHER, PLAN])],
    }
    contents: list[types.Content] = [types.Content(role="user", parts=[types.Part(text="Weather in Paris?")])]
    first = await ask(client, contents, **config)
    assert first.candidates and first.candidates[0].content and first.function_calls
    contents += [
        first.candidates[0].content,
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="get_weather", response={"result": "sunny"})],
        ),
    ]
    assert (await ask(client, contents, **config)).text == "Sunny in Paris."

    assert len(fake_gemini.requests) == 2
    assert fake_gemini.system_instruction() == "You are a cycling coach."
    assert fake_gemini.declared_tools() == ["get_weather", "plan_workout"]
    assert fake_gemini.user_texts() == ["Weather in Paris?"]
    assert fake_gemini.function_responses() == [{"name": "get_weather", "response": {"result": "sunny"}}]
    assert fake_gemini.function_responses(0) == []
    body = fake_gemini.last_request()
    declarations = body["tools"][0]["functionDeclarations"]
    assert declarations[0]["parameters_json_schema"]["required"] == ["city"]  # the SDK's snake_case
    assert declarations[1]["parameters"]["type"] == "OBJECT"
    # The model's call goes back with the id the fake gave it.
    assert body["contents"][1]["parts"][0]["functionCall"]["id"] == "call-1"
    with pytest.raises(IndexError):
        fake_gemini.system_instruction(5)


async def test_structured_output(fake_gemini: FakeGemini, client: genai.Client) -> None:
    class Plan(pydantic.BaseModel):
        minutes: int
        sport: str

    fake_gemini.script(
        json_reply({"minutes": 60, "sport": "Ride"}), json_reply({"minutes": 45, "sport": "Run"})
    )
    schema = {"type": "object", "properties": {"minutes": {"type": "integer"}, "sport": {"type": "string"}}}
    r = await ask(client, response_mime_type="application/json", response_json_schema=schema)
    assert json.loads(r.text or "") == {"minutes": 60, "sport": "Ride"}
    assert r.parsed == {"minutes": 60, "sport": "Ride"}
    assert fake_gemini.last_request()["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
    }
    r = await ask(client, response_mime_type="application/json", response_schema=Plan)
    assert r.parsed == Plan(minutes=45, sport="Run")
    generation = fake_gemini.last_request()["generationConfig"]
    assert generation["responseMimeType"] == "application/json"
    assert generation["responseSchema"]["type"] == "OBJECT"


# -- tokens --------------------------------------------------------------------------


def test_count_tokens_approximation() -> None:
    assert count_tokens("") == 0
    assert count_tokens("hi") == 1
    assert count_tokens("The cat sat.") == 4  # three short words and a full stop
    assert count_tokens("internationalization") == 5  # 20 characters
    prose = "An endurance athlete's training coach plans workouts around races and recovery. " * 10
    assert len(prose) / 6 < count_tokens(prose) < len(prose) / 3


async def test_usage_metadata_counts_the_prompt(fake_gemini: FakeGemini, client: genai.Client) -> None:
    fake_gemini.default = text("ok")
    short = await ask(client, system_instruction="Be brief.")
    long = await ask(
        client, system_instruction="Be brief. " + "Always explain the physiology behind a session. " * 20
    )
    assert short.usage_metadata and long.usage_metadata
    assert 0 < (short.usage_metadata.prompt_token_count or 0) < (long.usage_metadata.prompt_token_count or 0)
    assert fake_gemini.prompt_tokens == [
        short.usage_metadata.prompt_token_count,
        long.usage_metadata.prompt_token_count,
    ]
    assert long.usage_metadata.candidates_token_count == 1
    assert long.usage_metadata.total_token_count == (long.usage_metadata.prompt_token_count or 0) + 1
    with_tools = await ask(
        client, system_instruction="Be brief.", tools=[types.Tool(function_declarations=[WEATHER])]
    )
    assert with_tools.usage_metadata and short.usage_metadata.prompt_token_count
    assert (with_tools.usage_metadata.prompt_token_count or 0) > short.usage_metadata.prompt_token_count


# -- failures ------------------------------------------------------------------------


async def test_error_steps(fake_gemini: FakeGemini, client: genai.Client) -> None:
    fake_gemini.script(error(503), error(400, "INVALID_ARGUMENT", "bad schema"), text("recovered"))
    with pytest.raises(errors.ServerError) as server:
        await ask(client)
    assert (server.value.code, server.value.status) == (503, "UNAVAILABLE")
    with pytest.raises(errors.ClientError) as bad:
        await ask(client)
    assert (bad.value.code, bad.value.status, bad.value.message) == (400, "INVALID_ARGUMENT", "bad schema")
    assert (await ask(client)).text == "recovered"


async def test_client_timeout_raises_timeout_error(fake_gemini: FakeGemini) -> None:
    fake_gemini.script(delay(1.0, text("too late")), text("on time"))
    impatient = make_client(fake_gemini, timeout_ms=300)
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):  # aiohttp's total timeout, not wrapped by the SDK
            await ask(impatient)
        assert time.monotonic() - started < 0.9
        assert (await ask(impatient)).text == "on time"  # the delayed step was consumed
    finally:
        await close(impatient)


async def test_wrong_api_key_is_rejected_and_not_recorded(fake_gemini: FakeGemini) -> None:
    fake_gemini.script(text("unreachable"))
    stranger = make_client(fake_gemini, api_key="wrong-key")
    try:
        with pytest.raises(errors.ClientError) as caught:
            await ask(stranger)
    finally:
        await close(stranger)
    assert (caught.value.code, caught.value.status) == (400, "INVALID_ARGUMENT")
    assert fake_gemini.requests == []


async def test_missing_key_unknown_path_and_v1beta(fake_gemini: FakeGemini) -> None:
    fake_gemini.script(text("beta"))
    async with httpx.AsyncClient(base_url=fake_gemini.url, timeout=5) as raw:
        missing = await raw.post(f"/v1/models/{MODEL}:generateContent", json={"contents": []})
        unknown = await raw.post("/v1/models/x:countTokens", json={}, headers={"x-goog-api-key": "test-key"})
    assert missing.status_code == 403 and missing.json()["error"]["status"] == "PERMISSION_DENIED"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == 404
    beta = make_client(fake_gemini, api_version="v1beta")
    try:
        assert (await ask(beta)).text == "beta"
    finally:
        await close(beta)


async def test_stop_returns_fast_while_a_handler_sleeps() -> None:
    fake = FakeGemini().start()
    fake.script(delay(30, text("never")))
    async with httpx.AsyncClient(timeout=10) as raw:
        pending = asyncio.create_task(
            raw.post(
                f"{fake.url}/v1/models/m:generateContent", json={}, headers={"x-goog-api-key": "test-key"}
            )
        )
        while not fake.requests:
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await asyncio.to_thread(fake.stop)
        assert time.monotonic() - started < 2
        with pytest.raises(httpx.HTTPError):
            await pending
    fake.stop()  # a second stop is harmless
