"""Per-athlete budgets: turns an hour, model tokens a day, floods, long and unsupported messages."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import pytest
from peewee import Database
from slack_bolt.async_app import AsyncBoltRequest

from bot import slack as slack_adapter
from bot import telegram
from core.access import athletes
from core.access.budgets import FLOOD, Budgets
from core.conversation.media import UNSUPPORTED_TYPE
from core.conversation.turn import UNSUPPORTED, Coach, Limits
from core.messages import Incoming, Reply
from core.metrics import ATHLETE_TOKENS, TURNS_REFUSED
from storage.models import ConversationTurn, Usage
from tests.fakes.gemini import FakeGemini, count_tokens, text
from tests.fakes.slack import SIGNING_SECRET, FakeSlack, event_message, signed_body_headers
from tests.fakes.telegram import FakeTelegram
from tests.helpers.clock import utcnow

CHAT = 7373
CoachFactory = Callable[..., Coach]


@pytest.fixture
def make_coach(make_coach: CoachFactory) -> CoachFactory:
    """The shared factory, with a message limit short enough to test."""
    return lambda **options: make_coach(
        **{"limits": Limits(turn_timeout=10, max_message_chars=500), **options}
    )


async def athlete(user: str = str(CHAT), timezone: str = "Europe/Berlin") -> int:
    """An admitted athlete on Telegram."""
    return await athletes.identify("telegram", user, user, name="Ann", timezone=timezone)


def refused(reason: str) -> float:
    return TURNS_REFUSED.labels(reason)._value.get()


async def say(coach: Coach, words: str, user: str = str(CHAT)) -> Reply | None:
    return await coach.handle(Incoming("telegram", user, user, text=words))


async def test_the_fourth_turn_in_an_hour_is_refused_and_plan_still_works(
    make_coach: CoachFactory, fake_telegram: FakeTelegram, fake_gemini: FakeGemini
) -> None:
    await athlete()
    app = telegram.build_app(
        make_coach(budget=Budgets(turns_per_hour=3)), fake_telegram.token, fake_telegram.url
    )
    before = refused("turns")
    async with app:
        await telegram.start(app, poll_timeout=1)
        try:
            for n in range(1, 5):
                fake_gemini.script(text(f"Answer {n}."))
                fake_telegram.push_message(CHAT, f"Question {n}")
                await fake_telegram.wait_for(lambda f, n=n: len(f.sent(CHAT)) == n)
            fake_telegram.push_message(CHAT, "/plan")
            await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 5)
        finally:
            await telegram.stop(app)

    said = [m["raw_text"] for m in fake_telegram.sent(CHAT)]
    assert said[:3] == ["Answer 1.", "Answer 2.", "Answer 3."]
    assert said[3].startswith("You've reached the limit of 3 messages an hour. You can continue at ")
    assert "(Europe/Berlin)" in said[3] and "/plan" in said[3]
    assert "Nothing planned for the next 14 days" in said[4]
    assert len(fake_gemini.requests) == 3 and refused("turns") - before == 1
    # The refused message was not kept as conversation either.
    assert ConversationTurn.select().where(ConversationTurn.role == "user").count() == 3


async def test_the_turn_budget_holds_across_instances_and_reopens_after_the_hour(
    make_coach: CoachFactory, fake_gemini: FakeGemini
) -> None:
    await athlete()
    budget = Budgets(turns_per_hour=3)
    first, second = make_coach(budget=budget), make_coach(budget=budget)
    fake_gemini.default = text("OK.")
    replies = [await say(instance, f"m{i}") for i, instance in enumerate((first, second, first, second))]
    assert [r.text for r in replies if r is not None][:3] == ["OK."] * 3
    assert replies[3] is not None and "limit of 3 messages an hour" in replies[3].text
    assert len(fake_gemini.requests) == 3

    for row in Usage.select():  # an hour passes
        Usage.update(window_start=row.window_start - dt.timedelta(hours=1)).where(
            Usage.id == row.id
        ).execute()
    again = await say(first, "after the hour")
    assert again is not None and again.text == "OK." and len(fake_gemini.requests) == 4


async def test_the_token_budget_counts_prompt_and_output_tokens(
    make_coach: CoachFactory, fake_gemini: FakeGemini
) -> None:
    athlete_id = await athlete()
    coach = make_coach(budget=Budgets(tokens_per_day=1000))
    fake_gemini.script(text("A fairly short answer."))
    before = ATHLETE_TOKENS.labels(str(athlete_id))._value.get()
    assert (await say(coach, "first")) is not None
    spent = fake_gemini.prompt_tokens[0] + count_tokens("A fairly short answer.")
    assert Usage.get(Usage.budget == "tokens").amount == spent > 1000
    assert ATHLETE_TOKENS.labels(str(athlete_id))._value.get() - before == spent

    reply = await say(coach, "second")
    assert reply is not None and reply.text.startswith("You've used today's share of the coaching model.")
    assert "You can continue tomorrow at " in reply.text or "You can continue at " in reply.text
    assert len(fake_gemini.requests) == 1
    assert "Your weekly availability" in ((await say(coach, "/availability")) or Reply("")).text


async def test_a_flood_is_answered_once_without_the_model(
    make_coach: CoachFactory, fake_gemini: FakeGemini
) -> None:
    await athlete()
    coach = make_coach()
    fake_gemini.default = text("Sure.")
    before = refused("flood")
    replies = [await say(coach, f"spam {i}") for i in range(8)]
    assert [r.text if r else None for r in replies] == ["Sure."] * 5 + [FLOOD, None, None]
    assert len(fake_gemini.requests) == 5 and refused("flood") - before == 3


async def test_too_long_and_unsupported_messages_get_brief_answers(
    make_coach: CoachFactory, fake_telegram: FakeTelegram, fake_gemini: FakeGemini
) -> None:
    await athlete()
    app = telegram.build_app(make_coach(), fake_telegram.token, fake_telegram.url)
    long_before, odd_before = refused("too_long"), refused("unsupported")
    sticker = {"file_id": "CAAD", "file_unique_id": "AgAD", "type": "regular", "width": 512, "height": 512}
    sticker.update(is_animated=False, is_video=False)
    user = {"id": CHAT, "is_bot": False, "first_name": "Ann"}
    async with app:
        await telegram.start(app, poll_timeout=1)
        try:
            fake_telegram.push_message(CHAT, "x" * 501)
            await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 1)
            chat = {"id": CHAT, "type": "private"}
            fake_telegram.push_update(
                {"message": {"message_id": 99, "date": 0, "chat": chat, "from": user, "sticker": sticker}}
            )
            await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 2)
        finally:
            await telegram.stop(app)
    said = [m["raw_text"] for m in fake_telegram.sent(CHAT)]
    assert said == ["That message is too long (501 characters). Please keep it under 500.", UNSUPPORTED]
    assert fake_gemini.requests == []
    assert refused("too_long") - long_before == 1 and refused("unsupported") - odd_before == 1


async def test_a_file_on_slack_gets_the_brief_answer(
    make_coach: CoachFactory, fake_slack: FakeSlack, fake_gemini: FakeGemini
) -> None:
    from tests.test_slack import posted

    app = slack_adapter.build_app(
        make_coach(), slack_adapter.web_client(fake_slack.token, fake_slack.url), SIGNING_SECRET
    )
    body = event_message("UFIL", "DUFIL", "", subtype="file_share", files=[{"id": "F1", "name": "ride.fit"}])
    await app.async_dispatch(AsyncBoltRequest(body=body, headers=signed_body_headers(SIGNING_SECRET, body)))
    [reply] = await posted(fake_slack, 1)
    # Not a file Slack knows (files.info: file_not_found), so the event's own description decides.
    assert reply["text"] == UNSUPPORTED_TYPE.format(mime="ride.fit") and fake_gemini.requests == []


async def test_the_worker_logs_an_athlete_over_half_the_daily_budget(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    from core.config import load_settings
    from jobs.tasks import _budget_alerts

    heavy, light = await athlete("1"), await athlete("2")
    Usage.create(athlete=heavy, budget="tokens", window_start=utcnow(), amount=600)
    Usage.create(athlete=light, budget="tokens", window_start=utcnow(), amount=400)
    with caplog.at_level(logging.WARNING, logger="jobs.tasks"):
        await _budget_alerts({"settings": load_settings(model_tokens_per_day=1000)})
    [alert] = [r.getMessage() for r in caplog.records]
    assert (
        alert == f"ALERT athlete {heavy} used 600 model tokens today, more than half the daily budget of 1000"
    )


def test_the_alert_rule_reads_the_metrics_the_bot_exports() -> None:
    from pathlib import Path

    rules = Path(__file__).parents[1] / "ops" / "prometheus-rules.yml"
    rule = rules.read_text().split("CoachAthleteOverHalfTokenBudget", 1)[1]
    assert "coach_athlete_model_tokens_total" in rule and "coach_model_tokens_per_day" in rule
    Budgets(tokens_per_day=123_000)
    from prometheus_client import REGISTRY

    assert REGISTRY.get_sample_value("coach_model_tokens_per_day") == 123_000
