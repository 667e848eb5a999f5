"""Voice notes and pictures end to end: real python-telegram-bot and slack-bolt against the fakes.

The files travel as a user would send them (getFile and the file URL on Telegram, files.info and
the private URL on Slack), reach the fake Gemini inline, and leave nothing of themselves behind.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from peewee import Database
from slack_bolt.async_app import AsyncApp

from bot import slack_media, telegram
from bot.slack import build_app, web_client
from core.access import athletes
from core.access.admission import Access
from core.clock import today_in
from core.conversation import media
from core.conversation.turn import Coach, Limits
from core.messages import Attachment
from core.model.llm import GeminiModel
from core.planning import workouts
from core.sync.intervals import IntervalsPool
from storage.models import ConversationTurn, PlannedWorkout
from tests.fakes.gemini import FakeGemini, call, text, together
from tests.fakes.intervals import FakeIntervals
from tests.fakes.slack import SIGNING_SECRET, FakeSlack, event_message
from tests.fakes.telegram import FakeTelegram
from tests.helpers.telegram_bot import polling
from tests.test_slack import dispatch, posted, settle, shown

CHAT = 5151
KEY = "key-a-0123456789"
VOICE = b"OggS\x00\x02" + bytes(range(256)) * 40  # what matters is that the bytes arrive unchanged
SAID = "Move tomorrow's ride to Friday"


@pytest.fixture
async def coach(db: Database, fake_gemini: FakeGemini, pool: IntervalsPool) -> AsyncIterator[Coach]:
    model = GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=2.0)
    yield Coach(model, pool, limits=Limits(turn_timeout=10), policy=Access(mode="open"))
    await settle()
    await model.aclose()


@pytest.fixture
async def bot(coach: Coach, fake_telegram: FakeTelegram) -> AsyncIterator[Any]:
    async with polling(coach, fake_telegram) as application:
        yield application


@pytest.fixture
def slack_app(coach: Coach, fake_slack: FakeSlack) -> AsyncApp:
    return build_app(coach, web_client(fake_slack.token, fake_slack.url), SIGNING_SECRET)


async def linked_with_a_ride(
    fake_intervals: FakeIntervals, pool: IntervalsPool, platform: str, user: str, chat: str
) -> tuple[int, str, dt.date]:
    """An athlete linked to the fake Intervals.icu with a ride in two days; (athlete, workout id, day)."""
    athlete = await athletes.identify(platform, user, chat, name="Ann")
    fake_intervals.add_athlete("i1001", KEY)
    await athletes.link(athlete, "i1001", KEY)
    day = today_in("UTC") + dt.timedelta(days=2)
    made = await workouts.create_workout(pool, athlete, {"date": str(day), "title": "Tempo", "type": "Ride"})
    return athlete, str(made.data["id"]), day


def script_the_move(fake_gemini: FakeGemini, workout_id: str, day: dt.date) -> None:
    """The model writes the transcript beside its tool call, as it is asked to, then answers."""
    fake_gemini.script(
        together(
            text(f'🎙 "{SAID}"'), call("update_planned_workout", {"workout_id": workout_id, "date": str(day)})
        ),
        text("Done: your tempo ride is on Friday now."),
    )


def stored(athlete: int) -> list[tuple[str, str]]:
    """(role, text) of every stored history row, checked to hold text parts and nothing else."""
    rows = []
    for turn in (
        ConversationTurn.select().where(ConversationTurn.athlete == athlete).order_by(ConversationTurn.id)
    ):
        [part] = turn.content["parts"]
        assert set(part) == {"text"}, part
        rows.append((turn.role, part["text"]))
    return rows


def telegram_texts(fake: FakeTelegram) -> list[str]:
    return [m["text"] for m in fake.sent(CHAT)]


def voice(fake: FakeTelegram, data: bytes = VOICE, seconds: int = 7) -> dict[str, Any]:
    return fake.add_file(data, "oga") | {"duration": seconds, "mime_type": "audio/ogg"}


async def test_a_telegram_voice_note_moves_a_ride_and_the_reply_starts_with_the_transcript(
    bot: Any,
    db: Database,
    fake_telegram: FakeTelegram,
    fake_gemini: FakeGemini,
    fake_intervals: FakeIntervals,
    pool: IntervalsPool,
) -> None:
    athlete, workout_id, day = await linked_with_a_ride(
        fake_intervals, pool, "telegram", str(CHAT), str(CHAT)
    )
    friday = day + dt.timedelta(days=1)
    script_the_move(fake_gemini, workout_id, friday)

    fake_telegram.push_media(CHAT, "voice", voice(fake_telegram))
    await fake_telegram.wait_for(lambda f: bool(f.sent(CHAT)))

    [reply] = telegram_texts(fake_telegram)
    assert reply.startswith(f'🎙 "{SAID}"\n\nDone: your tempo ride is on Friday now.')
    assert reply.count("🎙") == 1 and "✅ Synced to Intervals.icu." in reply
    assert [c.params["file_id"] for c in fake_telegram.calls_of("getFile")] != []
    assert len(fake_telegram.downloads) == 1
    # One request holds the recording inline; the next carries the transcript in its place.
    assert fake_gemini.inline_parts(0) == [{"mime_type": "audio/ogg", "data": VOICE}]
    assert fake_gemini.inline_parts(1) == []
    assert f'🎙 "{SAID}"' in fake_gemini.user_texts(1)
    assert "update_planned_workout" in fake_gemini.declared_tools(0)
    assert fake_intervals.events("i1001")[0]["start_date_local"].startswith(str(friday))
    assert PlannedWorkout.get_by_id(workout_id).date == friday
    assert stored(athlete) == [("user", f'🎙 "{SAID}"'), ("model", reply)]
    raw = json.dumps([t.content for t in ConversationTurn.select()])
    assert "inline" not in raw.lower() and "T2dnUw" not in raw  # base64 of "OggS" appears nowhere


async def test_a_slack_audio_clip_moves_a_ride_and_the_reply_starts_with_the_transcript(
    slack_app: AsyncApp,
    db: Database,
    fake_slack: FakeSlack,
    fake_gemini: FakeGemini,
    fake_intervals: FakeIntervals,
    pool: IntervalsPool,
) -> None:
    athlete, workout_id, day = await linked_with_a_ride(fake_intervals, pool, "slack", "UANN", "DUANN")
    script_the_move(fake_gemini, workout_id, day + dt.timedelta(days=1))
    clip = fake_slack.add_file(
        "audio_message.m4a", "audio/mp4", VOICE, user="UANN", subtype="slack_audio", duration_ms=6500
    )
    shared = {"id": clip["id"], "name": clip["name"]}  # events carry a partial file; files.info has the rest

    await dispatch(slack_app, event_message("UANN", "DUANN", "", subtype="file_share", files=[shared]))

    [reply] = await posted(fake_slack, 1)
    assert shown(reply).startswith(f'🎙 "{SAID}"\n\nDone: your tempo ride is on Friday now.')
    assert [c["file"] for c in fake_slack.called("files.info")] == [clip["id"]]
    assert fake_slack.downloads == [clip["id"]]
    # Slack's clips are AAC in an MP4 container: declared to Gemini as AAC.
    assert fake_gemini.inline_parts(0) == [{"mime_type": "audio/aac", "data": VOICE}]
    assert [bool(fake_gemini.inline_parts(i)) for i in range(len(fake_gemini.requests))] == [True, False]
    assert len(fake_intervals.events("i1001")) == 1
    assert stored(athlete)[0] == ("user", f'🎙 "{SAID}"')


async def test_an_over_long_voice_note_gets_the_limit_reply_and_no_model_request(
    bot: Any, db: Database, fake_telegram: FakeTelegram, fake_gemini: FakeGemini
) -> None:
    fake_telegram.push_media(CHAT, "voice", voice(fake_telegram, seconds=121))
    await fake_telegram.wait_for(lambda f: bool(f.sent(CHAT)))

    assert telegram_texts(fake_telegram) == [media.TOO_LONG.format(seconds="2:01 min")]
    assert fake_gemini.requests == [] and fake_telegram.downloads == []
    assert ConversationTurn.select().count() == 0


async def test_a_photo_reaches_the_model_as_an_image_part_and_only_a_line_is_kept(
    bot: Any, db: Database, fake_telegram: FakeTelegram, fake_gemini: FakeGemini
) -> None:
    small, large = b"\xff\xd8\xff small", b"\xff\xd8\xff" + b"large photo" * 500
    sizes = [
        fake_telegram.add_file(small, "jpg") | {"width": 90, "height": 60},
        fake_telegram.add_file(large, "jpg") | {"width": 1280, "height": 853},
    ]
    fake_gemini.script(text("Your club rides Tuesday and Thursday. Shall I add them?"))

    fake_telegram.push_media(CHAT, "photo", sizes, caption="Our club's week")
    await fake_telegram.wait_for(lambda f: bool(f.sent(CHAT)))

    assert telegram_texts(fake_telegram) == ["Your club rides Tuesday and Thursday. Shall I add them?"]
    assert fake_gemini.inline_parts(0) == [{"mime_type": "image/jpeg", "data": large}]
    assert "Our club's week" in fake_gemini.user_texts(0)
    [athlete] = {t.athlete_id for t in ConversationTurn.select()}
    assert stored(athlete) == [
        ("user", "[photo] Our club's week"),
        ("model", telegram_texts(fake_telegram)[0]),
    ]


async def test_an_unsupported_file_gets_a_clear_reply_and_no_model_request(
    bot: Any, db: Database, fake_telegram: FakeTelegram, fake_gemini: FakeGemini
) -> None:
    fit = fake_telegram.add_file(b".FIT data", "fit") | {
        "file_name": "ride.fit",
        "mime_type": "application/octet-stream",
    }
    gif = fake_telegram.add_file(b"GIF89a", "gif") | {"file_name": "wave.gif", "mime_type": "image/gif"}

    fake_telegram.push_media(CHAT, "document", fit)
    fake_telegram.push_media(CHAT, "document", gif)
    await fake_telegram.wait_for(lambda f: len(f.sent(CHAT)) == 2)

    assert telegram_texts(fake_telegram) == [
        media.UNSUPPORTED_TYPE.format(mime="ride.fit"),
        media.UNSUPPORTED_TYPE.format(mime="wave.gif"),
    ]
    assert fake_gemini.requests == [] and fake_telegram.downloads == []


async def test_a_slack_image_goes_inline_and_a_webm_clip_is_refused(
    slack_app: AsyncApp, db: Database, fake_slack: FakeSlack, fake_gemini: FakeGemini
) -> None:
    png = b"\x89PNG\r\n\x1a\n whiteboard"
    board = fake_slack.add_file("board.png", "image/png", png, user="UBEA")
    clip = fake_slack.add_file("audio_message.webm", "audio/webm", VOICE, user="UBEA", subtype="slack_audio")
    fake_gemini.script(text("That's three intervals of 8 minutes."))

    await dispatch(
        slack_app, event_message("UBEA", "DUBEA", "what is this?", subtype="file_share", files=[board])
    )
    await posted(fake_slack, 1)
    await dispatch(slack_app, event_message("UBEA", "DUBEA", "", subtype="file_share", files=[clip]))

    first, second = await posted(fake_slack, 2)
    assert shown(first) == "That's three intervals of 8 minutes."
    assert second["text"] == media.UNSUPPORTED_TYPE.format(mime="audio_message.webm")
    assert fake_gemini.inline_parts(0) == [{"mime_type": "image/png", "data": png}]
    assert len(fake_gemini.requests) == 1 and fake_slack.downloads == [board["id"]]


async def test_a_slack_private_url_refuses_a_wrong_token_and_the_athlete_hears_why(
    fake_slack: FakeSlack,
) -> None:
    clip = fake_slack.add_file("audio_message.m4a", "audio/mp4", VOICE, subtype="slack_audio")
    url = clip["url_private_download"]

    assert await slack_media._fetcher(fake_slack.token, url)() == VOICE
    with pytest.raises(media.MediaUnavailable) as refused:
        await slack_media._fetcher("xoxb-someone-else", url)()
    assert refused.value.user_message == slack_media.GONE
    assert fake_slack.downloads == [clip["id"]]


async def test_a_model_that_forgets_the_transcript_still_leads_with_a_line(
    bot: Any, db: Database, fake_telegram: FakeTelegram, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(text("Sounds like a good ride!"))
    fake_telegram.push_media(CHAT, "voice", voice(fake_telegram))
    await fake_telegram.wait_for(lambda f: bool(f.sent(CHAT)))

    assert telegram_texts(fake_telegram) == [f"{media.NO_TRANSCRIPT}\n\nSounds like a good ride!"]
    [athlete] = {t.athlete_id for t in ConversationTurn.select()}
    assert stored(athlete)[0] == ("user", media.NO_TRANSCRIPT)


@pytest.mark.parametrize(
    ("written", "line"),
    [
        ('🎙 "Move my ride"', '🎙 "Move my ride"'),
        ("🎙️ “Move my ride”\n\nDone.", '🎙 "Move my ride"'),
        ("  🎙 Move my ride", '🎙 "Move my ride"'),
        ("Done, I moved it.", None),
        ('🎙 ""', None),
    ],
)
def test_the_transcript_line_is_read_as_the_model_may_write_it(written: str, line: str | None) -> None:
    assert media.transcript_line(written) == line


def test_the_types_platforms_give_map_onto_the_ones_gemini_documents() -> None:
    assert media.gemini_type("audio/mpeg") == "audio/mp3"
    assert media.gemini_type("audio/ogg; codecs=opus") == "audio/ogg"
    assert media.gemini_type("audio/x-m4a") == "audio/aac"
    assert media.gemini_type("IMAGE/JPG") == "image/jpeg"
    assert media.gemini_type("audio/webm") is None and media.gemini_type("image/gif") is None


async def _never() -> bytes:
    raise AssertionError("a refused attachment must not be downloaded")


@pytest.mark.parametrize(
    ("attachment", "reason"),
    [
        (Attachment("audio", "audio/mp3", 1000, _never, seconds=120.5), "too_long"),
        (Attachment("audio", "audio/wav", media.MAX_BYTES_UNTIMED + 1, _never), "too_long"),
        (Attachment("image", "image/png", media.MAX_BYTES + 1, _never), "too_big"),
        (Attachment("file", "application/pdf", 10, _never, name="plan.pdf"), "unsupported"),
        (Attachment("audio", "image/png", 10, _never), "unsupported"),
    ],
)
def test_limits_are_checked_before_any_download(attachment: Attachment, reason: str) -> None:
    with pytest.raises(media.MediaRefused) as refused:
        media.check(attachment)
    assert refused.value.reason == reason


async def test_a_voice_note_over_the_turn_budget_is_not_downloaded(
    db: Database, fake_telegram: FakeTelegram, fake_gemini: FakeGemini, pool: IntervalsPool
) -> None:
    from core.access.budgets import Budgets

    model = GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=2.0)
    strict = Coach(model, pool, policy=Access(mode="open"), budget=Budgets(turns_per_hour=0))
    app = telegram.build_app(strict, fake_telegram.token, fake_telegram.url)
    async with app:
        await telegram.start(app, poll_timeout=1)
        try:
            fake_telegram.push_media(CHAT, "voice", voice(fake_telegram))
            await fake_telegram.wait_for(lambda f: bool(f.sent(CHAT)))
        finally:
            await telegram.stop(app)
    await model.aclose()
    [said] = telegram_texts(fake_telegram)
    assert said.startswith("You've reached the limit of 0 messages an hour.")
    assert fake_gemini.requests == [] and fake_telegram.downloads == []


async def test_an_unreachable_model_asks_for_the_recording_again(
    bot: Any, db: Database, fake_telegram: FakeTelegram, fake_gemini: FakeGemini
) -> None:
    from tests.fakes.gemini import error

    fake_gemini.script(error(503))
    fake_telegram.push_media(CHAT, "voice", voice(fake_telegram))
    await fake_telegram.wait_for(lambda f: bool(f.sent(CHAT)))

    [said] = telegram_texts(fake_telegram)
    assert said == (
        "Sorry, I can't reach my coaching model right now. "
        "I don't keep recordings, so please send it again in a minute."
    )
    [athlete] = {t.athlete_id for t in ConversationTurn.select()}
    assert stored(athlete) == [("user", media.NOT_HEARD), ("model", said)]


async def test_a_file_gemini_refuses_gets_a_clear_reply_not_an_outage(
    bot: Any, db: Database, fake_telegram: FakeTelegram, fake_gemini: FakeGemini
) -> None:
    from tests.fakes.gemini import error

    # What Gemini answers when it won't take an inline type we mapped onto one it documents.
    fake_gemini.script(error(400, "INVALID_ARGUMENT", "Unsupported MIME type: audio/aac"))
    clip = fake_telegram.add_file(VOICE, "m4a") | {"duration": 5, "mime_type": "audio/x-m4a"}
    fake_telegram.push_media(CHAT, "audio", clip)
    await fake_telegram.wait_for(lambda f: bool(f.sent(CHAT)))

    assert telegram_texts(fake_telegram) == [media.UNREADABLE]
    assert fake_gemini.inline_parts(0)[0]["mime_type"] == "audio/aac"
