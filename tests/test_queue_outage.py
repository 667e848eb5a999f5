"""Redis gone while a bot needs it: presses are given back, athletes told, /sync unharmed, nothing untyped.

The bot runs as in production: real python-telegram-bot and bolt against the fakes, and a real arq
pool, pointed at a port where nothing listens.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.connections import ArqRedis
from peewee import Database
from slack_bolt.async_app import AsyncBoltRequest

from bot import failures
from bot import slack as slack_adapter
from bot.turns import redis_turns
from core import actions
from core.access.admission import Access
from core.coaching import pushes
from core.conversation.turn import Coach, Limits
from core.model.llm import GeminiModel
from core.sync.intervals import IntervalsPool
from jobs import tasks
from jobs.enqueue import plan_runner, push_announcer, retry_scheduler
from storage.models import PendingAction, Push
from tests.fakes.gemini import FakeGemini, call, json_reply, text
from tests.fakes.intervals import FakeIntervals
from tests.fakes.slack import SIGNING_SECRET, FakeSlack, event_message, signed_body_headers
from tests.fakes.telegram import FakeTelegram
from tests.helpers.telegram_bot import polling
from tests.test_after_workout import CHAT, connected, planned, ride, said

QUEUE_DOWN = "I can't queue that right now, please try again in a minute."


@pytest.fixture
async def dead_queue() -> AsyncIterator[ArqRedis]:
    """An arq pool whose Redis is gone: the port was free a moment ago and nothing listens there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redis = ArqRedis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    yield redis
    await redis.aclose()


@pytest.fixture
async def model(fake_gemini: FakeGemini) -> AsyncIterator[GeminiModel]:
    m = GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=2.0)
    yield m
    await m.aclose()


async def apologised_on_both(
    coach: Coach, fake_telegram: FakeTelegram, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> list[logging.LogRecord]:
    """A message on Telegram and a DM on Slack (from UDOWN), each answered with the apology; the
    adapters' warnings and errors."""
    from tests.test_slack import posted, settle

    async with polling(coach, fake_telegram):
        fake_telegram.push_message(CHAT, "What's on today?")
        await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 1)
    app = slack_adapter.build_app(
        coach, slack_adapter.web_client(fake_slack.token, fake_slack.url), SIGNING_SECRET
    )
    body = event_message("UDOWN", "DUDOWN", "What's on today?")
    await app.async_dispatch(AsyncBoltRequest(body=body, headers=signed_body_headers(SIGNING_SECRET, body)))
    await settle()
    assert texts(fake_telegram) == [failures.SORRY]
    assert [m["text"] for m in await posted(fake_slack, 1)] == [failures.SORRY]
    return [
        r for r in caplog.records if r.name in ("bot.telegram", "bot.slack") and r.levelno >= logging.WARNING
    ]


def texts(fake: FakeTelegram) -> list[str]:
    return [m["raw_text"] for m in fake.sent(CHAT)]


def lines(caplog: pytest.LogCaptureFixture, words: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if words in r.getMessage()]


async def test_generate_plan_with_the_queue_down_gives_the_press_back(
    db: Database,
    model: GeminiModel,
    pool: IntervalsPool,
    fake_telegram: FakeTelegram,
    fake_gemini: FakeGemini,
    fake_intervals: FakeIntervals,
    dead_queue: ArqRedis,
    arq_redis: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await connected(fake_intervals)
    coach = Coach(model, pool, plan_runner=plan_runner(dead_queue), limits=Limits(turn_timeout=10))
    fake_gemini.script(call("generate_training_plan", {"days": 3}), text("Shall I generate a 3-day plan?"))
    async with polling(coach, fake_telegram):
        fake_telegram.push_message(CHAT, "Plan my next days")
        await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 1)
        asked = fake_telegram.sent(CHAT)[0]
        generate = asked["reply_markup"]["inline_keyboard"][0][0]["callback_data"]

        fake_telegram.push_callback(CHAT, asked["message_id"], generate)
        await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 2)
        assert texts(fake_telegram)[1] == QUEUE_DOWN
        assert fake_telegram.sent(CHAT)[0] == asked  # not marked chosen: the buttons still work
        assert PendingAction.get_by_id(actions.parse(generate)[0]).used_at is None
        [line] = lines(caplog, "not queued")
        assert line.exc_info is None and "ConnectionError" in line.getMessage()

        # Redis is back: the same button queues the plan, once.
        coach.plan_runner = plan_runner(arq_redis)
        fake_telegram.push_callback(CHAT, asked["message_id"], generate)
        await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 3)
    assert texts(fake_telegram)[2].startswith("Generating your 3-day plan now.")
    assert "✔ Generate plan" in texts(fake_telegram)[0]
    [job] = await arq_redis.queued_jobs()
    assert job.function == "generate_weekly_plan"
    assert len(fake_gemini.requests) == 2  # the turn that asked; the plan is the worker's


async def test_sync_with_redis_down_answers_and_leaves_the_note_for_the_delivery_pass(
    db: Database,
    model: GeminiModel,
    pool: IntervalsPool,
    fake_gemini: FakeGemini,
    fake_intervals: FakeIntervals,
    fake_telegram: FakeTelegram,
    notifier: Any,
    dead_queue: ArqRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from core.planning import workouts

    athlete = await connected(fake_intervals)
    coach = Coach(model, pool)
    await coach.handle(said("/notify quiet off"))  # the test may run at night in Berlin
    await workouts.create_workout(pool, athlete, planned())
    fake_intervals.add_activity("i1001", ride(id="i5001"))
    fake_gemini.script(json_reply({"sentence": "Strong, steady tempo."}))
    pushes.hooks.announce = push_announcer(dead_queue)
    try:
        reply = await coach.handle(said("/sync"))
    finally:
        pushes.hooks.announce = None

    assert reply is not None and "Refreshed from Intervals.icu: 1 activities" in reply.text
    [line] = lines(caplog, "not announced")
    assert line.exc_info is None and "ConnectionError" in line.getMessage()
    [note] = Push.select()
    assert note.sent_at is None  # waiting for the worker's pass, which sends it
    assert await tasks.deliver_pushes({"notify": notifier.notify}) == 1
    [sent] = fake_telegram.sent(CHAT)
    assert "Tempo intervals (Ride) is done." in sent["raw_text"]


async def test_a_turn_failed_by_redis_is_apologised_for_in_one_log_line(
    db: Database,
    model: GeminiModel,
    pool: IntervalsPool,
    fake_telegram: FakeTelegram,
    fake_slack: FakeSlack,
    fake_gemini: FakeGemini,
    dead_queue: ArqRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The turn lock lives in Redis: with Redis gone no turn can start.
    coach = Coach(model, pool, locker=redis_turns(dead_queue), policy=Access(mode="open"))
    logged = await apologised_on_both(coach, fake_telegram, fake_slack, caplog)
    assert fake_gemini.requests == []
    assert [r.getMessage() for r in logged] == [
        f"telegram update in chat {CHAT} failed: ConnectionError",
        "slack turn for user UDOWN failed: ConnectionError",
    ]
    assert all(r.exc_info is None and r.levelno == logging.WARNING for r in logged)


async def test_an_unexpected_failure_is_logged_with_its_traceback(
    db: Database,
    model: GeminiModel,
    pool: IntervalsPool,
    fake_telegram: FakeTelegram,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    @contextlib.asynccontextmanager
    async def broken(athlete_id: int) -> AsyncIterator[None]:
        raise KeyError(athlete_id)  # a bug, not an outage
        yield

    coach = Coach(model, pool, locker=broken, policy=Access(mode="open"))
    logged = await apologised_on_both(coach, fake_telegram, fake_slack, caplog)
    assert [(r.levelno, r.exc_info is not None) for r in logged] == [(logging.ERROR, True)] * 2
    assert all(r.getMessage().endswith("failed: KeyError") for r in logged)


async def test_a_change_that_cannot_sync_with_redis_down_still_stands_for_the_retry_pass(
    db: Database,
    pool: IntervalsPool,
    fake_intervals: FakeIntervals,
    dead_queue: ArqRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from core.planning import workouts
    from core.sync import outbox as sync
    from storage.models import SyncQueue

    athlete = await connected(fake_intervals)
    fake_intervals.fail_next(1, "500")
    sync.hooks.schedule_retry = retry_scheduler(dead_queue)
    try:
        created = await workouts.create_workout(pool, athlete, planned())
    finally:
        sync.hooks.schedule_retry = None

    assert created.sync_status == "pending"  # saved, told honestly, not an error
    [line] = lines(caplog, "not scheduled")
    assert line.exc_info is None and "ConnectionError" in line.getMessage()
    [item] = SyncQueue.select()
    # Still open: the worker's retry pass every five minutes finds it.
    assert item.status in sync.OPEN_STATUSES and item.attempts == 1
