"""Who may use the bot: invitations, strangers, open access, blocking, Slack workspaces.

Telegram runs through the real python-telegram-bot against the fake Bot API, Slack through
real bolt against the fake Slack, the model through google-genai against the fake Gemini.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from peewee import Database
from slack_bolt.async_app import AsyncBoltRequest

from bot import slack as slack_adapter
from bot import telegram
from core import actions
from core.access import admission as access
from core.access import athletes, erase
from core.access.admission import BAD_CODE, BLOCKED, NOT_FOR_TEAM, PRIVATE, Access, stranger_key
from core.conversation.turn import Coach
from core.messages import Incoming, Reply
from core.metrics import TURNS_REFUSED
from jobs.tasks import _everyone
from storage import db as storage_db
from storage.models import (
    ALL_MODELS,
    Athlete,
    ChatIdentity,
    ConversationTurn,
    Invitation,
    Stranger,
    utcnow,
)
from tests.fakes.gemini import FakeGemini, text
from tests.fakes.slack import SIGNING_SECRET, FakeSlack, block_action, event_message, signed_body_headers
from tests.fakes.telegram import FakeTelegram

STRANGER, FRIEND = 5151, 6161
GROUP = -1001234567890

CoachFactory = Callable[..., Coach]


@pytest.fixture
async def bot(make_coach: CoachFactory, fake_telegram: FakeTelegram) -> AsyncIterator[Any]:
    """The Telegram bot with the default policy, polling the fake."""
    app = telegram.build_app(make_coach(), fake_telegram.token, fake_telegram.url)
    async with app:
        await telegram.start(app, poll_timeout=1)
        yield app
        await telegram.stop(app)


def texts(fake: FakeTelegram, chat: int) -> list[str]:
    return [m["raw_text"] for m in fake.sent(chat)]


def refused(reason: str) -> float:
    return TURNS_REFUSED.labels(reason)._value.get()


def rows_everywhere() -> dict[str, int]:
    return {m._meta.table_name: m.select().count() for m in ALL_MODELS}


async def new_code(uses: int = 1, days: float = 7) -> str:
    return await storage_db.call(access.create_invitation, uses, days)


async def test_a_stranger_gets_one_private_reply_and_no_model_call(
    bot: Any, fake_telegram: FakeTelegram, fake_gemini: FakeGemini
) -> None:
    before = refused("stranger")
    for i in range(30):
        fake_telegram.push_message(STRANGER, f"hello {i}")
    await fake_telegram.wait_for(lambda f: Stranger.select().where(Stranger.messages == 30).exists())

    assert texts(fake_telegram, STRANGER) == [PRIVATE]
    assert fake_gemini.requests == []
    assert fake_telegram.calls_of("sendChatAction") == []  # not even "typing…" for a stranger
    assert refused("stranger") - before == 30
    counts = rows_everywhere()
    assert counts.pop("stranger") == 1 and set(counts.values()) == {0}  # a counter, nothing else
    [row] = Stranger.select()
    assert row.messages == 30 and row.key == stranger_key("telegram", str(STRANGER))


async def test_start_with_the_invitation_admits_once(
    bot: Any, fake_telegram: FakeTelegram, fake_gemini: FakeGemini
) -> None:
    code = await new_code()
    fake_telegram.push_message(STRANGER, "hi there")
    await fake_telegram.wait_for(lambda f: len(f.sent(STRANGER)) == 1)
    fake_telegram.push_message(STRANGER, f"/start {code}")  # what the deep link sends
    await fake_telegram.wait_for(lambda f: len(f.sent(STRANGER)) == 2)
    assert texts(fake_telegram, STRANGER)[1].startswith("Welcome, you're in! Write, for example")
    athlete = Athlete.get()
    assert ChatIdentity.get().platform_user_id == str(STRANGER) and athlete.admitted_at is not None
    assert Stranger.select().count() == 0  # their counter goes once they are in
    assert Invitation.get().uses == 1

    fake_gemini.script(text("Welcome aboard."))
    fake_telegram.push_message(STRANGER, "What can you do?")
    await fake_telegram.wait_for(lambda f: len(f.sent(STRANGER)) == 3)
    assert texts(fake_telegram, STRANGER)[2] == "Welcome aboard." and len(fake_gemini.requests) == 1

    # The same code again, from someone else: refused, no athlete, no model call.
    fake_telegram.push_message(FRIEND, f"/join {code}")
    await fake_telegram.wait_for(lambda f: len(f.sent(FRIEND)) == 1)
    assert texts(fake_telegram, FRIEND) == [BAD_CODE]
    assert Athlete.select().count() == 1 and len(fake_gemini.requests) == 1


async def test_guessed_expired_revoked_and_used_up_codes_get_the_same_answer(
    make_coach: CoachFactory, fake_gemini: FakeGemini
) -> None:
    coach = make_coach()
    used, revoked, expired = await new_code(), await new_code(), await new_code(days=1)
    await coach.handle(Incoming("telegram", "first", "first", text=f"/start {used}"))
    assert await storage_db.call(access.revoke, revoked)
    await storage_db.call(
        lambda: (
            Invitation.update(expires_at=utcnow() - dt.timedelta(seconds=1))
            .where(Invitation.code_hash == access.hash_code(expired))
            .execute()
        )
    )
    answers = []
    for n, code in enumerate(("AAAAAAAAAAAAAAAA", used, revoked, expired, "x" * 64)):
        reply = await coach.handle(Incoming("telegram", f"guess{n}", f"guess{n}", text=f"/start {code}"))
        assert reply is not None
        answers.append(reply.text)
    assert answers == [BAD_CODE] * 5
    assert Athlete.select().count() == 1 and fake_gemini.requests == []
    assert [access.state(i) for i in access.invitations()] == ["expired", "revoked", "used up"]


async def test_a_code_for_several_uses_admits_that_many(make_coach: CoachFactory) -> None:
    coach = make_coach()
    code = await new_code(uses=2)
    for who in ("a", "b", "c"):
        await coach.handle(Incoming("telegram", who, who, text=f"/join {code}"))
    assert [i.platform_user_id for i in ChatIdentity.select().order_by(ChatIdentity.id)] == ["a", "b"]


async def test_a_thousand_messages_from_a_stranger(make_coach: CoachFactory, fake_gemini: FakeGemini) -> None:
    coach = make_coach()
    replies = [
        await coach.handle(Incoming("telegram", "777", "777", text=f"buy now {i}")) for i in range(1000)
    ]
    said = [r.text for r in replies if r is not None]
    assert said == [PRIVATE]
    assert fake_gemini.requests == []
    assert rows_everywhere()["stranger"] == 1 and Stranger.get().messages == 1000

    # An hour later they are told once more, still with no model call.
    Stranger.update(answered_at=utcnow() - dt.timedelta(hours=1, seconds=1)).execute()
    again = [await coach.handle(Incoming("telegram", "777", "777", text="still here")) for _ in range(3)]
    assert [r.text for r in again if r is not None] == [PRIVATE] and fake_gemini.requests == []


async def test_strangers_long_gone_are_forgotten(make_coach: CoachFactory) -> None:
    coach = make_coach()
    await coach.handle(Incoming("telegram", "old", "old", text="hi"))
    Stranger.update(last_seen_at=utcnow() - access.FORGET_STRANGERS_AFTER - dt.timedelta(days=1)).execute()
    await coach.handle(Incoming("telegram", "new", "new", text="hi"))
    assert [s.key for s in Stranger.select()] == [stranger_key("telegram", "new")]


async def test_open_access_lets_anyone_chat(make_coach: CoachFactory, fake_gemini: FakeGemini) -> None:
    coach = make_coach(policy=Access(mode="open"))
    fake_gemini.script(text("Hello, stranger!"))
    reply = await coach.handle(Incoming("telegram", "anyone", "anyone", text="hi", user_name="Any"))
    assert reply is not None and reply.text == "Hello, stranger!"
    assert Athlete.get().name == "Any" and len(fake_gemini.requests) == 1


async def test_the_terminal_is_always_admitted(make_coach: CoachFactory, fake_gemini: FakeGemini) -> None:
    fake_gemini.script(text("Hi, owner."))
    reply = await make_coach().handle(Incoming("terminal", "me", "me", text="hi"))
    assert reply is not None and reply.text == "Hi, owner." and ChatIdentity.get().platform == "terminal"


async def test_a_blocked_athlete_is_not_answered_until_unblocked(
    make_coach: CoachFactory, fake_gemini: FakeGemini
) -> None:
    coach = make_coach()
    await coach.handle(Incoming("telegram", "ann", "ann", text=f"/start {await new_code()}"))
    athlete_id = Athlete.get().id
    assert await storage_db.call(access.set_blocked, athlete_id, True)
    first = await coach.handle(Incoming("telegram", "ann", "ann", text="hello?"))
    second = await coach.handle(Incoming("telegram", "ann", "ann", text="/plan"))
    assert first is not None and first.text == BLOCKED and second is None
    assert fake_gemini.requests == []
    assert athlete_id not in await storage_db.call(_everyone)  # no morning message either
    assert await storage_db.call(athletes.identities, athlete_id) == []  # nor any notice

    assert await storage_db.call(access.set_blocked, athlete_id, False)
    fake_gemini.script(text("Welcome back."))
    back = await coach.handle(Incoming("telegram", "ann", "ann", text="hello?"))
    assert back is not None and back.text == "Welcome back."
    wrote = max(t.created_at for t in ConversationTurn.select().where(ConversationTurn.role == "user"))
    # A message the coach sent on its own later is stored as a turn too, but is not the athlete writing.
    ConversationTurn.create(
        athlete=athlete_id,
        role="model",
        content={"role": "model", "parts": [{"text": "Morning!"}]},
        created_at=utcnow() + dt.timedelta(hours=1),
    )
    [row] = await storage_db.call(access.athlete_rows)
    assert row.platforms == ("telegram",) and not row.blocked and row.last_active == wrote


async def slack_message(app: Any, user: str, words: str, **extra: Any) -> None:
    body = event_message(user, "D" + user, words, **extra)
    await app.async_dispatch(AsyncBoltRequest(body=body, headers=signed_body_headers(SIGNING_SECRET, body)))


async def test_slack_workspace_members_are_admitted_and_other_teams_are_not(
    make_coach: CoachFactory, fake_slack: FakeSlack, fake_gemini: FakeGemini
) -> None:
    from tests.test_slack import posted, settle

    client = slack_adapter.web_client(fake_slack.token, fake_slack.url)
    members = slack_adapter.build_app(make_coach(), client, SIGNING_SECRET)
    fake_gemini.script(text("Hi from Slack."))
    await slack_message(members, "UMEM", "hello")
    [reply] = await posted(fake_slack, 1)
    assert "Hi from Slack." in reply["text"] and ChatIdentity.get().platform == "slack"

    elsewhere = slack_adapter.build_app(
        make_coach(policy=Access(slack_teams=frozenset({"T999"}))), client, SIGNING_SECRET
    )
    await slack_message(elsewhere, "UOUT", "hello")
    await slack_message(elsewhere, "UOUT", "hello again")
    await settle()
    replies = await posted(fake_slack, 2)
    assert len(replies) == 2 and replies[1]["text"] == NOT_FOR_TEAM
    assert len(fake_gemini.requests) == 1 and ChatIdentity.select().count() == 1
    # Slack Connect: someone of another workspace in a shared conversation brings their own team.
    ours = slack_adapter.build_app(
        make_coach(policy=Access(slack_teams=frozenset({"T111"}))), client, SIGNING_SECRET
    )
    await slack_message(ours, "UEXT", "hi", user_team="T999")
    await settle()
    assert (await posted(fake_slack, 3))[2]["text"] == NOT_FOR_TEAM
    # Nor does an invitation code let someone of another team in: the team list is the rule.
    code = await new_code()
    await slack_message(elsewhere, "UCODE", f"/join {code}")
    await settle()
    assert (await posted(fake_slack, 4))[3]["text"] == NOT_FOR_TEAM
    assert not ChatIdentity.select().where(ChatIdentity.platform_user_id.in_(["UEXT", "UCODE"])).exists()
    [invitation] = Invitation.select()
    assert invitation.uses == 0  # the code is not spent on a refusal


async def test_telegram_groups_get_a_pointer_to_the_private_chat_and_move_nothing(
    bot: Any, fake_telegram: FakeTelegram, fake_gemini: FakeGemini
) -> None:
    athlete = await athletes.identify("telegram", str(FRIEND), str(FRIEND), name="Fay")
    code, before = await new_code(), refused("group")
    fake_telegram.push_message(GROUP, "/plan@coach_test_bot", user_id=FRIEND, chat_type="supergroup")
    fake_telegram.push_message(GROUP, "/plan@coach_test_bot", user_id=FRIEND, chat_type="supergroup")
    fake_telegram.push_message(GROUP, f"/start {code}", user_id=STRANGER, chat_type="group")
    await fake_telegram.wait_for(lambda f: len(f.sent(GROUP)) == 2)  # one chat: handled in order

    assert texts(fake_telegram, GROUP) == [access.PRIVATE_CHATS] * 2  # each person told once an hour
    # The athlete's pushes keep going to their private chat; the code in a group admits no one.
    assert await storage_db.call(athletes.identities, athlete) == [("telegram", str(FRIEND))]
    assert Athlete.select().count() == 1 and Invitation.get().uses == 0
    assert fake_gemini.requests == [] and refused("group") - before == 3


async def test_an_erased_slack_athlete_pressing_an_old_button_is_not_made_again(
    make_coach: CoachFactory, fake_slack: FakeSlack, fake_gemini: FakeGemini
) -> None:
    from tests.test_slack import posted, settle

    client = slack_adapter.web_client(fake_slack.token, fake_slack.url)
    app = slack_adapter.build_app(make_coach(), client, SIGNING_SECRET)
    athlete = await athletes.identify("slack", "UGONE", "DUGONE", name="Gone")
    buttons = await actions.offer(athlete, "retry_sync", {})
    await slack_adapter.send(client, "DUGONE", Reply("Shall I retry?", buttons))
    [asked] = await posted(fake_slack, 1)
    await erase.erase(athlete)

    value = buttons[0].action
    press = block_action("UGONE", "DUGONE", asked["ts"], "coach_action_0", value, f"{fake_slack.url}/response/1",
                         message=asked, label="Retry now")  # fmt: skip
    await app.async_dispatch(AsyncBoltRequest(body=press, headers=signed_body_headers(SIGNING_SECRET, press)))
    await settle()

    [_, answer] = await posted(fake_slack, 2)
    assert answer["text"] == "That button isn't yours or no longer exists."
    assert fake_slack.called("chat.update") == [] and fake_gemini.requests == []
    assert set(rows_everywhere().values()) == {0}  # no athlete, identity or counter made from the press


async def test_someone_never_seen_pressing_a_button_is_not_admitted_by_it(
    make_coach: CoachFactory, fake_gemini: FakeGemini
) -> None:
    coach = make_coach(policy=Access(mode="open"))
    for platform in ("telegram", "terminal"):
        reply = await coach.handle(Incoming(platform, "new", "new", action="a:abcdef12:yes"))
        assert reply is not None and reply.text == "That button isn't yours or no longer exists."
    assert set(rows_everywhere().values()) == {0} and fake_gemini.requests == []


def test_codes_are_random_and_stored_hashed(db: Database) -> None:
    codes = {access.create_invitation() for _ in range(20)}
    assert len(codes) == 20 and all(len(c) >= 16 for c in codes)  # 96 random bits each
    stored = {i.code_hash for i in Invitation.select()}
    assert not codes & stored and stored == {access.hash_code(c) for c in codes}
    assert access.invitation_code("/start@coach_test_bot " + next(iter(codes))) in codes
    assert access.invitation_code("/start") is None and access.invitation_code("/join a b") is None
