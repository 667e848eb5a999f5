"""/forget: every row of the athlete goes, in every table the models define; Intervals.icu is untouched."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from peewee import Database

from bot import slack as slack_adapter
from core.access import admission as access
from core.access import athletes
from core.access.admission import PRIVATE, Access
from core.access.erase import DONE, KEPT, athlete_keys
from core.conversation.turn import Coach
from core.messages import Incoming
from core.model.llm import GeminiModel
from core.planning import availability, blackouts, workouts
from core.sync.intervals import IntervalsPool
from storage import db as storage_db
from storage.models import ALL_MODELS, Athlete, BaseModel, ChatIdentity, Invitation, NutritionEntry, Stranger
from tests.fakes.gemini import FakeGemini, call, json_reply, text
from tests.fakes.intervals import FakeIntervals
from tests.fakes.slack import SIGNING_SECRET, FakeSlack, block_action, event_message, slash_command
from tests.fakes.telegram import FakeTelegram
from tests.helpers.clock import today
from tests.helpers.telegram_bot import polling
from tests.test_telegram import plan

ANN, BOB = 1111, 2222
KEY = "key-a-0123456789"
# Tables that hold no athlete's data, and why; any other table must point at the athlete.
NOT_ATHLETE_DATA = {
    Invitation: "codes are stored hashed and say nothing about who used them",
    Stranger: "keyed by a hash of a platform identity; erased by that key",
}


@pytest.fixture
def coach(make_coach: Any) -> Coach:
    return make_coach()  # the default: ACCESS=invite


@pytest.fixture
async def app(coach: Coach, fake_telegram: FakeTelegram) -> AsyncIterator[Any]:
    async with polling(coach, fake_telegram) as application:
        yield application


async def exchange(fake: FakeTelegram, chat: int, words: str) -> dict[str, Any]:
    """Send a message and return the bot's answer."""
    count = len(fake.sent(chat))
    fake.push_message(chat, words)
    await fake.wait_for(lambda f: len(f.sent(chat)) > count)
    return fake.sent(chat)[-1]


async def press(fake: FakeTelegram, chat: int, asked: dict[str, Any], label: str) -> dict[str, Any]:
    [data] = [b["callback_data"] for b in asked["reply_markup"]["inline_keyboard"][0] if b["text"] == label]
    count = len(fake.sent(chat))
    fake.push_callback(chat, asked["message_id"], data)
    await fake.wait_for(lambda f: len(f.sent(chat)) > count)
    return fake.sent(chat)[-1]


def rows_of(athlete_id: int, chat: int) -> dict[str, int]:
    """Rows per table that belong to the athlete (on Telegram as ``chat``), for every table of the models."""
    counts = {}
    for model in ALL_MODELS:
        if model is Athlete:
            counts["athlete"] = Athlete.select().where(Athlete.id == athlete_id).count()
        elif model is Stranger:
            key = access.stranger_key("telegram", str(chat))
            counts["stranger"] = Stranger.select().where(Stranger.key == key).count()
        elif model not in NOT_ATHLETE_DATA:
            counts[model._meta.table_name] = sum(
                model.select().where(f == athlete_id).count() for f in athlete_keys(model)
            )
    return counts


def test_every_table_is_athlete_data_or_explained(db: Database) -> None:
    """A table added later must either point at the athlete (and so be erased) or be listed here."""
    assert set(db.get_tables()) - {"schema_migration"} == {m._meta.table_name for m in ALL_MODELS}
    unlinked: set[type[BaseModel]] = {m for m in ALL_MODELS if m is not Athlete and not athlete_keys(m)}
    assert unlinked == set(NOT_ATHLETE_DATA)


async def admitted(fake: FakeTelegram, chat: int) -> int:
    code = await storage_db.call(access.create_invitation)
    await exchange(fake, chat, f"/start {code}")
    identity = await storage_db.call(ChatIdentity.get, ChatIdentity.platform_user_id == str(chat))
    return int(identity.athlete_id)


async def test_forget_erases_every_row_of_the_athlete_and_nothing_in_intervals(
    app: Any,
    coach: Coach,
    fake_telegram: FakeTelegram,
    fake_gemini: FakeGemini,
    fake_intervals: FakeIntervals,
    pool: IntervalsPool,
) -> None:
    tomorrow = today() + dt.timedelta(days=1)
    ann = await admitted(fake_telegram, ANN)
    bob = await admitted(fake_telegram, BOB)
    fake_intervals.add_athlete("i1001", KEY)
    await athletes.link(ann, "i1001", KEY)
    await availability.update_availability(ann, {"day_of_week": 2, "gym_access": True})
    # A plan through the chat and its button: plan, workouts, events in Intervals.icu, history, usage.
    fake_gemini.script(call("generate_training_plan", {"days": 3}), text("Shall I generate a 3-day plan?"))
    asked = await exchange(fake_telegram, ANN, "Plan my next days")
    fake_gemini.script(json_reply(plan(tomorrow)))
    preview = await press(fake_telegram, ANN, asked, "Generate plan")
    await press(fake_telegram, ANN, preview, "Save to calendar")
    # A change Intervals.icu couldn't take yet waits in the sync queue.
    fake_intervals.fail_next(1, "500")
    await workouts.create_workout(pool, ann, {"date": str(tomorrow), "title": "Easy spin", "type": "Ride"})
    far = tomorrow + dt.timedelta(days=30)
    await blackouts.update_unavailable_dates(ann, {"action": "add", "start_date": str(far)})
    # Activities and wellness pulled by /sync.
    fake_intervals.add_activity(
        "i1001", {"start_date_local": f"{tomorrow - dt.timedelta(days=2)}T07:00:00", "type": "Ride"}
    )
    fake_intervals.add_wellness("i1001", {"id": str(tomorrow - dt.timedelta(days=1)), "ctl": 50.0})
    await exchange(fake_telegram, ANN, "/sync")
    await storage_db.call(lambda: NutritionEntry.create(athlete=ann, date=tomorrow, description="Oats"))
    await exchange(fake_telegram, ANN, "/notify weekly off")  # her own push settings
    # Counted while blocked: a stranger row keyed by their identity.
    await storage_db.call(access.set_blocked, ann, True)
    await exchange(fake_telegram, ANN, "still there?")
    await storage_db.call(access.set_blocked, ann, False)
    fake_gemini.script(text("Hi Bob."))
    await exchange(fake_telegram, BOB, "Hello")
    await storage_db.call(lambda: NutritionEntry.create(athlete=bob, date=tomorrow, description="Rice"))

    before = await storage_db.call(rows_of, ann, ANN)
    assert all(before.values()), f"the test must give Ann a row in every table: {before}"
    bob_before = await storage_db.call(rows_of, bob, BOB)
    events = fake_intervals.events("i1001")
    assert events

    asked = await exchange(fake_telegram, ANN, "/forget")
    labels = [b["text"] for b in asked["reply_markup"]["inline_keyboard"][0]]
    assert (
        labels == ["Erase everything", "Keep"] and "Nothing is deleted in Intervals.icu" in asked["raw_text"]
    )
    assert (await press(fake_telegram, ANN, asked, "Keep"))["raw_text"] == KEPT
    assert all((await storage_db.call(rows_of, ann, ANN)).values())

    asked = await exchange(fake_telegram, ANN, "/forget")
    # Bob presses Ann's button (a forwarded message): refused, nothing runs.
    [erase_data] = [
        b["callback_data"]
        for b in asked["reply_markup"]["inline_keyboard"][0]
        if b["text"] == "Erase everything"
    ]
    stolen = await coach.handle(Incoming("telegram", str(BOB), str(BOB), action=erase_data))
    assert stolen is not None and stolen.text == "That button isn't yours or no longer exists."
    assert Athlete.get_or_none(Athlete.id == ann) is not None

    requests_before = len(fake_intervals.requests)
    done = await press(fake_telegram, ANN, asked, "Erase everything")
    assert done["raw_text"] == DONE

    assert set((await storage_db.call(rows_of, ann, ANN)).values()) == {0}
    assert await storage_db.call(rows_of, bob, BOB) == bob_before
    assert fake_intervals.events("i1001") == events
    assert fake_intervals.requests[requests_before:] == []
    # Ann is a stranger now: an invitation is needed to come back.
    assert (await exchange(fake_telegram, ANN, "hello?"))["raw_text"] == PRIVATE


async def test_forget_also_works_in_open_mode_and_in_the_terminal(
    db: Database, fake_gemini: FakeGemini, pool: IntervalsPool
) -> None:
    model = GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=2.0)
    try:
        coach = Coach(model, pool, policy=Access(mode="open"))
        asked = await coach.handle(Incoming("terminal", "me", "me", text="/forget"))
        assert asked is not None
        [yes] = [b for b in asked.buttons if b.label == "Erase everything"]
        done = await coach.handle(Incoming("terminal", "me", "me", action=yes.action))
        assert done is not None and done.text == DONE
        assert {m._meta.table_name: m.select().count() for m in ALL_MODELS} == dict.fromkeys(
            (m._meta.table_name for m in ALL_MODELS), 0
        )
    finally:
        await model.aclose()


async def test_forget_on_slack(coach: Coach, fake_slack: FakeSlack, fake_gemini: FakeGemini) -> None:
    from tests.test_slack import buttons, dispatch, posted, settle

    app = slack_adapter.build_app(
        coach, slack_adapter.web_client(fake_slack.token, fake_slack.url), SIGNING_SECRET
    )
    fake_gemini.script(text("Hi Sue."))
    await dispatch(app, event_message("USUE", "DUSUE", "hello"))
    await posted(fake_slack, 1)
    await dispatch(app, slash_command("USUE", "DUSUE", "forget", f"{fake_slack.url}/response/1"))
    [_, asked] = await posted(fake_slack, 2)
    [yes] = [b for b in buttons(asked) if b["text"]["text"] == "Erase everything"]
    await dispatch(app, block_action("USUE", "DUSUE", asked["ts"], yes["action_id"], yes["value"],
                                     f"{fake_slack.url}/response/2", message=asked, label="Erase everything"))  # fmt: skip
    await settle()
    assert (await posted(fake_slack, 3))[-1]["text"].startswith("Done: I erased everything")
    assert {
        m._meta.table_name: m.select().count() for m in ALL_MODELS if m is not Invitation
    } == dict.fromkeys((m._meta.table_name for m in ALL_MODELS if m is not Invitation), 0)
