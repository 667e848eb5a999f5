"""The Slack adapter end to end: signed requests into the real bolt app, a real Coach, fake Slack/Gemini/Intervals."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
from peewee import Database
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.response import BoltResponse

import bot.slack
from bot.slack import (
    ANSWERED_IN_DM,
    KEY_IN_CHANNEL,
    KEY_NOTE,
    USE_DM,
    blocks_for,
    build_app,
    send,
    web_client,
)
from core.access import athletes
from core.clock import today_in
from core.config import load_settings
from core.conversation.turn import Coach, Limits
from core.messages import Button, Reply
from core.model.llm import GeminiModel
from core.planning import workouts
from core.sync.intervals import IntervalsPool
from storage.models import ChatIdentity, ConversationTurn, PlannedWorkout, WeeklyTrainingPlan
from tests.fakes.gemini import FakeGemini, call, delay, json_reply, text
from tests.fakes.intervals import FakeIntervals
from tests.fakes.slack import (
    SIGNING_SECRET,
    FakeSlack,
    block_action,
    event_app_mention,
    event_message,
    signed_body_headers,
    slash_command,
)
from tests.helpers.markdown import MODEL_MARKDOWN, WORDS, markup_left

TZ, KEY = "Europe/Berlin", "key-a-0123456789"


@pytest.fixture
def slack(fake_slack: FakeSlack) -> FakeSlack:
    return fake_slack


async def settle(timeout: float = 5.0) -> None:
    """Wait for bolt's listener tasks, which it starts after the ack and never awaits."""
    tasks = [
        t
        for t in asyncio.all_tasks()
        if "run_ack_function_asynchronously" in getattr(t.get_coro(), "__qualname__", "")
    ]
    if tasks:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout)


@pytest.fixture
async def coach(db: Database, fake_gemini: FakeGemini, pool: IntervalsPool) -> AsyncIterator[Coach]:
    model = GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=1.0)
    yield Coach(model, pool, limits=Limits(max_steps=4, turn_timeout=5))
    await settle()
    await model.aclose()


@pytest.fixture
def app(coach: Coach, slack: FakeSlack) -> AsyncApp:
    return build_app(coach, web_client(slack.token, slack.url), SIGNING_SECRET)


@contextlib.asynccontextmanager
async def running(coach: Coach, slack: FakeSlack, port: int = 3000, **secret: str) -> AsyncIterator[None]:
    """``bot.slack.run`` serving for the duration of the block, then stopped."""
    settings = load_settings(
        gemini_api_key="k", slack_bot_token=slack.token, slack_api_url=slack.url, **secret
    )
    stop = asyncio.Event()
    server = asyncio.create_task(bot.slack.run(coach, settings, stop, port=port))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(server, 5)


async def dispatch(app: AsyncApp, body: str) -> BoltResponse:
    """Deliver a body as Slack would: signed with the app's signing secret."""
    return await app.async_dispatch(
        AsyncBoltRequest(body=body, headers=signed_body_headers(SIGNING_SECRET, body))
    )


async def until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll until ``condition()`` holds (bolt answers after the ack, on a task of its own)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await asyncio.sleep(0.02)


async def posted(slack: FakeSlack, count: int, channel: str | None = None) -> list[dict[str, Any]]:
    """The channel's messages once there are ``count`` of them."""
    await until(lambda: len(slack.messages(channel)) >= count)
    return slack.messages(channel)


def shown(message: dict[str, Any]) -> str:
    """The Markdown Slack renders for the athlete: the markdown blocks' text, its one escape undone."""
    texts = [b["text"] for b in message["blocks"] if b["type"] == "markdown"]
    return "\n\n".join(texts).replace("&lt;", "<")


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def slack_athlete(user: str, fake_intervals: FakeIntervals) -> int:
    """An athlete met on Slack, linked to the fake Intervals.icu."""
    athlete_id = await athletes.identify("slack", user, "D" + user, name=user, timezone=TZ)
    fake_intervals.add_athlete("i1001", KEY)
    await athletes.link(athlete_id, "i1001", KEY)
    return athlete_id


def plan_json(start: dt.date) -> dict[str, object]:
    workout = {
        "type": "Ride",
        "duration_minutes": 60,
        "tss": 50,
        "intensity": "easy",
        "time_of_day": "morning",
    }
    days = [{"date": str(start + dt.timedelta(days=i)), "workouts": [{"title": f"Endurance {i}", **workout}]}
            for i in range(0, 7, 2)]  # fmt: skip
    return {"summary": "Build aerobic base.", "days": days}


async def test_dm_moves_a_ride_and_says_it_synced(
    app: AsyncApp,
    slack: FakeSlack,
    fake_gemini: FakeGemini,
    fake_intervals: FakeIntervals,
    pool: IntervalsPool,
) -> None:
    ann = await slack_athlete("UANN", fake_intervals)
    day = today_in(TZ) + dt.timedelta(days=3)
    made = await workouts.create_workout(
        pool, ann, {"date": str(day), "title": "Tempo ride", "type": "Ride", "duration_minutes": 60}
    )
    later = day + dt.timedelta(days=1)
    fake_gemini.script(
        call("update_planned_workout", {"workout_id": str(made.data["id"]), "date": str(later)}),
        text("Done! Your ride is a day later now."),
    )

    response = await dispatch(app, event_message("UANN", "DUANN", "move my ride &amp; tell me"))

    assert response.status == 200
    [reply] = await posted(slack, 1)
    assert reply["channel"] == "DUANN" and reply["thread_ts"] is None
    assert "Synced to Intervals.icu" in shown(reply) and "Synced to Intervals.icu" in reply["text"]
    [event] = fake_intervals.events("i1001")
    assert event["start_date_local"].startswith(str(later))
    assert fake_gemini.user_texts(0)[-1] == "move my ride & tell me"


async def test_plan_buttons_press_once_and_message_updated(
    app: AsyncApp, slack: FakeSlack, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    await slack_athlete("UCAT", fake_intervals)
    fake_gemini.script(
        call("generate_training_plan", {"days": 7, "focus": "endurance"}),
        text("I can build a 7-day endurance plan. Shall I?"),
    )
    await dispatch(app, event_message("UCAT", "DUCAT", "plan my week"))
    [asked] = await posted(slack, 1)
    assert [b["text"]["text"] for b in buttons(asked)] == ["Generate plan", "Cancel"]
    assert buttons(asked)[0]["style"] == "primary" and "style" not in buttons(asked)[1]
    assert asked["blocks"][0] == {"type": "markdown", "text": "I can build a 7-day endurance plan. Shall I?"}

    go = buttons(asked)[0]
    press = block_action("UCAT", "DUCAT", asked["ts"], go["action_id"], go["value"], f"{slack.url}/response/1",
                         message=asked, label="Generate plan")  # fmt: skip
    fake_gemini.script(delay(0.6, json_reply(plan_json(today_in(TZ) + dt.timedelta(days=1)))))
    started = time.monotonic()
    response = await dispatch(app, press)
    assert response.status == 200 and time.monotonic() - started < 0.6  # acked before the plan exists
    assert len(slack.messages()) == 1 and WeeklyTrainingPlan.select().count() == 0
    [_, done] = await posted(slack, 2)
    assert "plan (endurance) from" in shown(done) and done["channel"] == "DUCAT"
    assert [b["text"]["text"] for b in buttons(done)] == ["Save to calendar", "Regenerate", "Cancel"]
    updated = slack.message(asked["ts"])
    assert updated["edited"] and not buttons(updated) and updated["text"] == asked["text"]
    assert updated["blocks"][-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "✔ Generate plan"}],
    }

    assert (await dispatch(app, press)).status == 200  # the same press again
    [*_, again] = await posted(slack, 3)
    assert shown(again) == "You already answered that one."
    await settle()
    assert WeeklyTrainingPlan.select().count() == 0 and PlannedWorkout.select().count() == 0
    assert len(fake_gemini.requests) == 3 and len(slack.called("chat.update")) == 1

    save = buttons(done)[0]
    keep = block_action("UCAT", "DUCAT", done["ts"], save["action_id"], save["value"], f"{slack.url}/response/2",
                        message=done, label="Save to calendar")  # fmt: skip
    assert (await dispatch(app, keep)).status == 200
    [*_, saved] = await posted(slack, 4)
    assert "Saved your 7-day plan: 4 workouts" in shown(saved)
    await settle()
    assert WeeklyTrainingPlan.select().count() == 1 and PlannedWorkout.select().count() == 4


async def test_forged_requests_are_refused(app: AsyncApp, slack: FakeSlack, fake_gemini: FakeGemini) -> None:
    body = event_message("UEVE", "DUEVE", "plan my week")
    stale = int(time.time()) - 600
    attempts = [
        signed_body_headers("not-the-secret", body),
        signed_body_headers(SIGNING_SECRET, body, timestamp=stale),
        {"content-type": "application/json"},
    ]
    for headers in attempts:
        response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        assert response.status == 401
    tampered = signed_body_headers(SIGNING_SECRET, body)
    response = await app.async_dispatch(AsyncBoltRequest(body=body.replace("plan", "wipe"), headers=tampered))
    assert response.status == 401

    await settle()
    assert slack.calls == [] and fake_gemini.requests == []
    assert ChatIdentity.select().count() == 0 and ConversationTurn.select().count() == 0


async def test_markdown_reply_reaches_slack_as_a_markdown_block(
    app: AsyncApp, slack: FakeSlack, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(text(MODEL_MARKDOWN))

    await dispatch(app, event_message("UMAX", "DUMAX", "what's my week like?"))

    [reply] = await posted(slack, 1)
    [block] = reply["blocks"]
    assert block["type"] == "markdown" and "<" not in block["text"]  # no Slack token can start
    markdown = shown(reply)
    assert "**Key session:**" in markdown and "- Monday: **rest**" in markdown and "> Listen" in markdown
    assert '<script>alert("hi")</script>' in markdown  # shown as text: Slack reads "&lt;" as "<"
    assert "```\nDay | Workout" in markdown and "| Thu |" not in markdown  # a table Slack can't render
    fallback = reply["text"].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert markup_left(fallback) == [] and all(word in fallback for word in WORDS)
    assert "<" not in reply["text"]


async def test_long_markdown_reply_is_split_into_markdown_blocks(
    app: AsyncApp, slack: FakeSlack, fake_gemini: FakeGemini
) -> None:
    paragraph = "Ride **easy** & keep the cadence high <90 rpm>; " * 12
    long = "\n\n".join(f"{i}. {paragraph}" for i in range(60))
    fake_gemini.script(text(long))

    await dispatch(app, event_message("ULEE", "DULEE", "tell me everything"))

    await posted(slack, 3)
    await settle()
    replies = slack.messages()
    assert 3 <= len(replies) <= 4  # 34k characters in messages of at most 12,000, cut between items
    for reply in replies:
        [block] = reply["blocks"]
        assert block["type"] == "markdown" and 0 < len(block["text"]) <= 12_000
        assert "<" not in block["text"] and "&lt;90 rpm>" in block["text"]
        assert "**" not in reply["text"] and "&lt;90 rpm&gt;" in reply["text"]  # the plain fallback
    paragraphs = "\n\n".join(shown(r) for r in replies).split("\n\n")
    assert [p.strip() for p in paragraphs] == [p.strip() for p in long.split("\n\n")]  # cut between items


async def test_send_splits_huge_replies_with_buttons_last(slack: FakeSlack) -> None:
    huge = Reply(
        "\n\n".join(["word " * 400] * 20),
        buttons=(Button("Retry now", "a:abcdef:yes"), Button("Later", "a:abcdef:no")),
    )
    stamps = await send(web_client(slack.token, slack.url), "DU1", huge, thread_ts="1700000000.000001")
    messages = slack.messages()
    assert [m["ts"] for m in messages] == stamps and len(stamps) == 4
    assert all(m["thread_ts"] == "1700000000.000001" for m in messages)
    assert [bool(buttons(m)) for m in messages] == [False, False, False, True]
    assert [b["value"] for b in buttons(messages[-1])] == ["a:abcdef:yes", "a:abcdef:no"]
    assert blocks_for(Reply("a & **b** <c>")) == (
        "a &amp; b &lt;c&gt;",
        [{"type": "markdown", "text": "a & **b** &lt;c>"}],
    )


async def test_slash_command_help_and_subcommands(
    app: AsyncApp, slack: FakeSlack, fake_gemini: FakeGemini
) -> None:
    response = await dispatch(app, slash_command("UDAN", "DUDAN", "", f"{slack.url}/response/1"))
    assert response.status == 200 and response.body == ""
    [helped] = await posted(slack, 1, "DUDAN")
    assert "Commands:" in shown(helped) and "/plan" in shown(helped)

    await dispatch(app, slash_command("UDAN", "C42", "availability", f"{slack.url}/response/2"))
    [_, availability] = await posted(slack, 2, "DUDAN")  # answered in the DM, pointed to from the channel
    assert shown(availability).startswith("Your weekly availability:")
    await settle()
    assert [r["text"] for r in slack.responses("2")] == [ANSWERED_IN_DM] and slack.messages("C42") == []
    assert fake_gemini.requests == []
    [ident] = ChatIdentity.select()
    assert (ident.platform, ident.platform_user_id, ident.chat_id) == ("slack", "UDAN", "DUDAN")


async def test_keys_stay_out_of_channels(
    app: AsyncApp, slack: FakeSlack, fake_gemini: FakeGemini, fake_intervals: FakeIntervals
) -> None:
    await dispatch(app, slash_command("UKIM", "C42", "connect i1001 " + KEY, f"{slack.url}/response/3"))
    await dispatch(app, event_app_mention("UKIM", "C42", f"<@UBOT> connect i1001 {KEY}", "1700000500.000100"))
    await settle()
    assert [r["text"] for r in slack.responses("3")] == [USE_DM]
    assert [(e["channel"], e["user"], e["text"]) for e in slack.ephemeral()] == [
        ("C42", "UKIM", KEY_IN_CHANNEL)
    ]
    assert slack.messages() == [] and ChatIdentity.select().count() == 0

    fake_intervals.add_athlete("i1001", KEY)
    await dispatch(app, event_message("UKIM", "DUKIM", f"/connect i1001 {KEY}"))
    [connected] = await posted(slack, 1, "DUKIM")
    assert "Connected to Intervals.icu" in shown(connected) and shown(connected).endswith(KEY_NOTE)
    assert fake_gemini.requests == []


async def test_app_mention_is_answered_in_its_thread(
    app: AsyncApp, slack: FakeSlack, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(text("Thursday is a rest day."))
    ts = "1700000777.000100"

    await dispatch(app, event_app_mention("UEMM", "C42", "<@UBOT> what's on Thursday?", ts))

    [reply] = await posted(slack, 1, "C42")
    assert reply["thread_ts"] == ts and shown(reply) == "Thursday is a rest day."
    assert fake_gemini.user_texts(0)[-1] == "what's on Thursday?"
    assert ChatIdentity.get(ChatIdentity.platform_user_id == "UEMM").chat_id == "DUEMM"  # pushes go to the DM


async def test_ignored_events_and_slow_turns(
    app: AsyncApp, slack: FakeSlack, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    for body in (
        event_message("UFOX", "DUFOX", "edited", subtype="message_changed"),
        event_message("UFOX", "DUFOX", "from a bot", bot_id="B999"),
        event_message("UFOX", "C42", "channel chatter", channel_type="channel"),
    ):
        assert (await dispatch(app, body)).status == 200
    await settle()
    assert slack.messages() == [] and fake_gemini.requests == [] and ChatIdentity.select().count() == 0

    monkeypatch.setattr(bot.slack, "HOURGLASS_AFTER", 0.05)
    fake_gemini.script(delay(0.3, text("Sorry for the wait.")))
    body = event_message("UFOX", "DUFOX", "are you there?")
    await dispatch(app, body)
    await posted(slack, 1)
    await settle()
    user_ts = json.loads(body)["event"]["ts"]
    # Bolt's listener client adds team_id to every call.
    expected = {"channel": "DUFOX", "timestamp": user_ts, "name": "hourglass_flowing_sand", "team_id": "T111"}
    assert slack.called("reactions.add") == [expected] and slack.called("reactions.remove") == [expected]


async def test_run_serves_http_and_checks_signatures(coach: Coach, slack: FakeSlack) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/slack/events"
    body = slash_command("URUN", "DURUN", "help", f"{slack.url}/response/9")
    async with (
        running(coach, slack, port, slack_signing_secret=SIGNING_SECRET),
        aiohttp.ClientSession() as session,
    ):
        for _ in range(250):  # until the server listens
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with session.post(
                    url, data=body, headers=signed_body_headers(SIGNING_SECRET, body)
                ) as r:
                    assert r.status == 200
                    break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("bot.slack.run never listened")
        async with session.post(url, data=body, headers=signed_body_headers("not-the-secret", body)) as r:
            assert r.status == 401
        [helped] = await posted(slack, 1, "DURUN")
        assert "Commands:" in shown(helped)
        await settle()


async def test_run_in_socket_mode(coach: Coach, slack: FakeSlack, fake_gemini: FakeGemini) -> None:
    async with running(coach, slack, slack_app_token=slack.app_token):
        await until(lambda: slack.sockets_open == 1)
        fake_gemini.script(text("Hi from the socket."))
        sent = [slack.socket_send("events_api", json.loads(event_message("USOX", "DUSOX", "hello")))]
        await posted(slack, 1, "DUSOX")
        command = dict(parse_qsl(slash_command("USOX", "DUSOX", "plan", f"{slack.url}/response/5")))
        sent.append(slack.socket_send("slash_commands", command))
        [hello, plan] = await posted(slack, 2, "DUSOX")
        assert shown(hello) == "Hi from the socket." and shown(plan).startswith("Nothing planned")
        assert [a["envelope_id"] for a in slack.socket_acks()] == sent
        await settle()
    await until(lambda: slack.sockets_open == 0)
