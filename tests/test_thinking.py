"""Thinking sized for the job: low for a chat turn, minimal for a sentence, more for a plan draft."""

from __future__ import annotations

import pytest

from core.config import load_settings
from core.errors import ConfigError
from core.model.llm import GeminiModel
from tests.fakes.gemini import FakeGemini, json_reply, text
from tests.fakes.gemini_schema import wire_field


def thinking_sent(fake: FakeGemini, i: int = -1) -> dict[str, object]:
    config = wire_field(fake.generation_config(i), "thinkingConfig")
    # The SDK sends snake_case; compare in the API's documented camelCase.
    return {
        "thinkingLevel" if k == "thinking_level" else "thinkingBudget" if k == "thinking_budget" else k: v
        for k, v in config.items()
    }


@pytest.mark.parametrize(
    ("model", "override", "chat", "plan", "sentence"),
    [
        (
            "gemini-3.8-flash",
            None,
            {"thinkingLevel": "LOW"},
            {"thinkingLevel": "MEDIUM"},
            {"thinkingLevel": "MINIMAL"},
        ),
        ("gemini-2.5-pro", None, {"thinkingBudget": 512}, {"thinkingBudget": 4096}, {"thinkingBudget": 0}),
        (
            "gemini-3.8-flash",
            "high",
            {"thinkingLevel": "HIGH"},
            {"thinkingLevel": "HIGH"},
            {"thinkingLevel": "HIGH"},
        ),
        (
            "gemini-2.5-pro",
            "low",
            {"thinkingBudget": 1024},
            {"thinkingBudget": 1024},
            {"thinkingBudget": 1024},
        ),
        (
            "gemini-3.8-flash",
            "900",
            {"thinkingLevel": "LOW"},
            {"thinkingLevel": "LOW"},
            {"thinkingLevel": "LOW"},
        ),
    ],
)
async def test_each_job_sends_its_thinking(
    fake_gemini: FakeGemini,
    model: str,
    override: str | None,
    chat: dict[str, object],
    plan: dict[str, object],
    sentence: dict[str, object],
) -> None:
    gemini = GeminiModel(
        api_key=fake_gemini.api_key, model=model, base_url=fake_gemini.url, thinking=override
    )
    fake_gemini.script(text("Fine."), json_reply({"ok": True}), json_reply({"ok": True}))
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    try:
        await gemini.generate("system", [{"role": "user", "parts": [{"text": "hi"}]}], [])
        await gemini.generate_json("system", "draft", schema)
        await gemini.generate_json("system", "numbers", schema, job="sentence")
    finally:
        await gemini.aclose()
    assert [thinking_sent(fake_gemini, i) for i in range(3)] == [chat, plan, sentence]


def test_a_bad_thinking_setting_is_named() -> None:
    with pytest.raises(ConfigError) as bad:
        load_settings(gemini_thinking="a lot")
    assert "GEMINI_THINKING must be minimal, low, medium, high or a token budget" in bad.value.user_message


def test_the_fake_refuses_a_level_and_a_budget_together(fake_gemini: FakeGemini) -> None:
    import httpx

    fake_gemini.script(text("never sent"))
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"thinkingConfig": {"thinkingLevel": "LOW", "thinkingBudget": 512}},
    }
    answer = httpx.post(
        f"{fake_gemini.url}/v1beta/models/gemini-3.8-flash:generateContent",
        json=body,
        headers={"x-goog-api-key": fake_gemini.api_key},
    )
    assert answer.status_code == 400 and answer.json()["error"]["status"] == "INVALID_ARGUMENT"
