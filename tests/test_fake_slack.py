"""Tests of the fake Slack Web API, through the real slack-sdk client, and of the request builders."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
from slack_bolt.request.internals import parse_body
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import web_client
from tests.fakes.slack import (
    SIGNING_SECRET,
    FakeSlack,
    block_action,
    event_app_mention,
    event_message,
    signed_body_headers,
    slash_command,
)


@pytest.fixture
def fake(fake_slack: FakeSlack) -> FakeSlack:
    return fake_slack


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.token, base_url=fake.url + "/")


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "Go", value: str = "a:1:yes", action_id: str = "coach_action_0") -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }


async def test_auth_test_and_token_check(fake: FakeSlack, client: AsyncWebClient) -> None:
    me = await client.auth_test()
    assert (me["team_id"], me["user_id"], me["bot_id"]) == ("T111", "UBOT", "B111") and me["url"]

    with pytest.raises(SlackApiError) as failed:
        await AsyncWebClient(token="xoxb-wrong", base_url=fake.url + "/").auth_test()
    assert failed.value.response["error"] == "invalid_auth"
    assert fake.calls == [("auth.test", {})]  # refused calls are not recorded

    opened = await client.apps_connections_open(app_token=fake.app_token)  # Socket Mode uses the app token
    assert opened["url"].startswith("ws://127.0.0.1:") and opened["url"].endswith("/socket")
    with pytest.raises(SlackApiError, match="invalid_auth"):
        await client.apps_connections_open(app_token=fake.token)

    async with aiohttp.ClientSession() as session:  # bolt adds ?team_id=..., which must not matter
        async with session.post(
            f"{fake.url}/auth.test?team_id=T111", headers={"Authorization": f"Bearer {fake.token}"}
        ) as response:
            assert (await response.json())["ok"] is True


async def test_post_update_and_history(fake: FakeSlack, client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel="DU1", text="hi", blocks=[section("*hi*")])
    second = await client.chat_postMessage(channel="C1", text="in thread", thread_ts=first["ts"])
    assert float(second["ts"]) > float(first["ts"]) and first["message"]["text"] == "hi"

    await client.chat_update(channel="DU1", ts=first["ts"], text="bye", blocks=[section("bye")])
    [dm] = fake.messages("DU1")
    assert (dm["text"], dm["blocks"], dm["edited"], dm["thread_ts"]) == ("bye", [section("bye")], True, None)
    assert fake.message(second["ts"])["thread_ts"] == first["ts"]
    assert [m["channel"] for m in fake.messages()] == ["DU1", "C1"]

    with pytest.raises(SlackApiError, match="message_not_found"):
        await client.chat_update(channel="DU1", ts="1.2", text="x")
    with pytest.raises(SlackApiError, match="message_not_found"):
        await client.chat_update(channel="C1", ts=first["ts"], text="x")  # right ts, wrong channel
    # Form-encoded bodies (blocks as a JSON string) work as JSON ones do.
    await client.api_call("chat.postMessage", data={"channel": "C2", "blocks": json.dumps([section("f")])})
    assert fake.messages("C2")[0]["blocks"] == [section("f")]
    assert [m for m, _ in fake.calls] == ["chat.postMessage"] * 2 + ["chat.update"] * 3 + ["chat.postMessage"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"text": "no channel"}, "channel_not_found"),
        ({"channel": "C1"}, "no_text"),
        ({"channel": "C1", "blocks": [section("x")] * 51}, "invalid_blocks"),
        ({"channel": "C1", "blocks": [section("x" * 3001)]}, "invalid_blocks"),
        ({"channel": "C1", "blocks": [section("")]}, "invalid_blocks"),
        (
            {
                "channel": "C1",
                "blocks": [{"type": "actions", "elements": [button(action_id=f"a{i}") for i in range(26)]}],
            },
            "invalid_blocks",
        ),
        (
            {"channel": "C1", "blocks": [{"type": "actions", "elements": [button("x" * 76)]}]},
            "invalid_blocks",
        ),
        (
            {"channel": "C1", "blocks": [{"type": "actions", "elements": [button(value="v" * 2001)]}]},
            "invalid_blocks",
        ),
        (
            {"channel": "C1", "blocks": [{"type": "actions", "elements": [button(action_id="a" * 256)]}]},
            "invalid_blocks",
        ),
        (
            {"channel": "C1", "blocks": [{"type": "actions", "elements": [button(), button()]}]},
            "invalid_blocks",
        ),
    ],
)
async def test_post_message_validation(
    fake: FakeSlack, client: AsyncWebClient, kwargs: dict[str, Any], error: str
) -> None:
    with pytest.raises(SlackApiError) as failed:
        await client.api_call("chat.postMessage", json=kwargs)
    assert failed.value.response["error"] == error
    assert fake.messages() == []


def markdown(text: str) -> dict[str, Any]:
    return {"type": "markdown", "text": text}


@pytest.mark.parametrize(
    ("blocks", "errors"),
    [
        (
            [section("x" * 3001)],
            [
                "failed to match all allowed schemas [json-pointer:/blocks/0/text]",
                "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
            ],
        ),
        (
            [markdown("ok"), markdown("x" * 12_001)],
            ["must be less than 12001 characters [json-pointer:/blocks/1/text]"],
        ),
        ([markdown("")], ["must be more than 0 characters [json-pointer:/blocks/0/text]"]),
        ([markdown("x")] * 51, ["no more than 50 items allowed [json-pointer:/blocks]"]),
    ],
)
async def test_refused_blocks_answer_in_slacks_shape(
    fake: FakeSlack, client: AsyncWebClient, blocks: list[dict[str, Any]], errors: list[str]
) -> None:
    with pytest.raises(SlackApiError) as failed:
        await client.chat_postMessage(channel="C1", text="t", blocks=blocks)
    body = failed.value.response.data
    assert body == {
        "ok": False,
        "error": "invalid_blocks",
        "errors": errors,
        "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
    }
    assert fake.messages() == []


async def test_markdown_blocks_share_one_12000_character_budget(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    await client.chat_postMessage(channel="C1", text="t", blocks=[markdown("x" * 6000), markdown("y" * 6000)])
    with pytest.raises(SlackApiError, match="msg_blocks_too_long"):
        await client.chat_postMessage(
            channel="C1", text="t", blocks=[markdown("x" * 6000), markdown("y" * 6001)]
        )
    with pytest.raises(SlackApiError, match="invalid_blocks_format"):
        await client.api_call(
            "chat.postMessage", json={"channel": "C1", "text": "t", "blocks": {"type": "markdown"}}
        )
    assert [len(m["blocks"]) for m in fake.messages()] == [2]


async def test_overlong_text_is_truncated_with_a_warning(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="x" * 40_001)
    assert posted["warning"] == "message_truncated"
    assert posted["response_metadata"]["warnings"] == ["message_truncated"]
    assert len(fake.messages()[0]["text"]) == 40_000


async def test_limits_are_inclusive(fake: FakeSlack, client: AsyncWebClient) -> None:
    actions = {"type": "actions", "elements": [button("x" * 75, "v" * 2000, "a" * 255)]}
    await client.chat_postMessage(channel="C1", text="t", blocks=[section("x" * 3000)] * 49 + [actions])
    assert len(fake.messages()[0]["blocks"]) == 50


async def test_dm_ephemeral_reactions_and_response_url(fake: FakeSlack, client: AsyncWebClient) -> None:
    opened = await client.conversations_open(users="U42")
    assert opened["channel"]["id"] == "DU42"
    await client.chat_postEphemeral(channel="C1", user="U42", text="only you")
    await client.reactions_add(channel="DU42", timestamp="1.1", name="hourglass_flowing_sand")
    await client.reactions_remove(channel="DU42", timestamp="1.1", name="hourglass_flowing_sand")
    assert fake.ephemeral() == [{"channel": "C1", "user": "U42", "text": "only you", "blocks": []}]
    assert fake.called("reactions.add") == [
        {"channel": "DU42", "timestamp": "1.1", "name": "hourglass_flowing_sand"}
    ]
    assert fake.messages() == []

    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{fake.url}/response/7", json={"text": "later", "response_type": "ephemeral"}
        ):
            pass
    assert (
        fake.responses("7") == [{"text": "later", "response_type": "ephemeral"}] and fake.responses("8") == []
    )


async def test_fail_next_and_rate_limit_retries(fake: FakeSlack) -> None:
    plain = AsyncWebClient(token=fake.token, base_url=fake.url + "/", retry_handlers=[])
    fake.fail_next("chat.postMessage", retry_after=3)
    with pytest.raises(SlackApiError) as failed:
        await plain.chat_postMessage(channel="C1", text="a")
    assert failed.value.response.status_code == 429 and failed.value.response.headers["Retry-After"] == "3"
    assert failed.value.response["error"] == "ratelimited"

    fake.fail_next("chat.postMessage", error="fatal_error", status=500)
    with pytest.raises(SlackApiError, match="fatal_error"):
        await plain.chat_postMessage(channel="C1", text="a")

    fake.fail_next("chat.postMessage", retry_after=0)
    posted = await web_client(fake.token, fake.url).chat_postMessage(channel="C1", text="b")
    assert posted["ok"] and [m["text"] for m in fake.messages()] == ["b"]
    assert len(fake.called("chat.postMessage")) == 4


def test_signed_headers_verify() -> None:
    body = event_message("U1", "DU1", "hi")
    headers = signed_body_headers(SIGNING_SECRET, body)
    verifier = SignatureVerifier(SIGNING_SECRET)
    assert verifier.is_valid_request(body, headers) and headers["content-type"] == "application/json"
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    old = signed_body_headers(SIGNING_SECRET, body, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, old)  # Slack's 5-minute replay window
    form = slash_command("U1", "C1", "plan", "http://x/response/1")
    assert signed_body_headers(SIGNING_SECRET, form)["content-type"] == "application/x-www-form-urlencoded"


def test_builders_match_slack_shapes() -> None:
    message = json.loads(event_message("U1", "DU1", "hi &amp; bye"))
    assert message["type"] == "event_callback" and message["team_id"] == "T111" and message["event_id"]
    assert message["event"]["channel_type"] == "im" and message["authorizations"][0]["user_id"] == "UBOT"
    mention = json.loads(event_app_mention("U1", "C1", "<@UBOT> hi", "1700000001.000100"))["event"]
    assert mention["type"] == "app_mention" and mention["ts"] == mention["event_ts"] == "1700000001.000100"

    posted = {"type": "message", "ts": "5.5", "thread_ts": "4.4", "text": "t", "blocks": [], "channel": "C1"}
    raw = block_action("U1", "C1", "5.5", "coach_action_0", "a:1:yes", "http://x/response/1", message=posted)
    assert list(dict(parse_qsl(raw))) == ["payload"]
    press = parse_body(raw, "application/x-www-form-urlencoded")
    assert press["type"] == "block_actions" and press["actions"][0]["value"] == "a:1:yes"
    assert press["container"]["thread_ts"] == "4.4" and "channel" not in press["message"]

    command = parse_body(slash_command("U1", "DU1", "plan", "http://x/response/1"), None)
    assert (command["command"], command["text"], command["user_id"], command["channel_id"]) == (
        "/coach", "plan", "U1", "DU1",
    )  # fmt: skip
    assert command["response_url"] == "http://x/response/1" and command["trigger_id"]
