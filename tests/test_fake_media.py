"""The fakes' file endpoints, through the real clients: Telegram getFile and file URLs, Slack files.info
and private URLs, Gemini's inline data rules."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from google import genai
from google.genai import errors, types
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot
from telegram.error import BadRequest

from tests.fakes import telegram as fake_telegram_module
from tests.fakes.gemini import FakeGemini, text
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram

MODEL = "gemini-3.8-flash"


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(
        fake_telegram.token, base_url=fake_telegram.api_url(), base_file_url=f"{fake_telegram.url}/file/bot"
    ) as b:
        yield b


async def test_telegram_get_file_then_the_file_url_gives_the_bytes(
    bot: Bot, fake_telegram: FakeTelegram
) -> None:
    stored = fake_telegram.add_file(b"OggS voice", "oga")

    file = await bot.get_file(stored["file_id"])

    assert file.file_size == len(b"OggS voice") and file.file_path is not None
    assert bytes(await file.download_as_bytearray()) == b"OggS voice"
    assert [file.file_path.endswith(d) for d in fake_telegram.downloads] == [True]


async def test_telegram_refuses_unknown_and_too_big_files(
    bot: Bot, fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(BadRequest, match="(?i)invalid file_id"):
        await bot.get_file("no-such-file")
    monkeypatch.setattr(fake_telegram_module, "MAX_DOWNLOAD", 4)  # the 20 MB rule, on a small file
    big = fake_telegram.add_file(b"12345", "mp3")
    with pytest.raises(BadRequest, match="(?i)file is too big"):
        await bot.get_file(big["file_id"])


async def test_telegram_file_url_checks_token_and_path(fake_telegram: FakeTelegram) -> None:
    fake_telegram.add_file(b"x", "oga")
    async with httpx.AsyncClient() as http:
        wrong = await http.get(f"{fake_telegram.url}/file/bot1:wrong/voice/file_1.oga")
        missing = await http.get(f"{fake_telegram.url}/file/bot{fake_telegram.token}/voice/nothing.oga")
    assert (wrong.status_code, wrong.json()["description"]) == (401, "Unauthorized")
    assert missing.status_code == 404 and fake_telegram.downloads == []


async def test_slack_files_info_and_the_private_url_want_the_bot_token(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token=fake_slack.token, base_url=fake_slack.url + "/")
    clip = fake_slack.add_file(
        "audio_message.m4a", "audio/mp4", b"m4a", subtype="slack_audio", duration_ms=4200
    )

    info = await client.files_info(file=clip["id"])
    with pytest.raises(SlackApiError) as missing:
        await client.files_info(file="F404")

    assert info["file"]["duration_ms"] == 4200 and info["file"]["mimetype"] == "audio/mp4"
    assert missing.value.response["error"] == "file_not_found"
    url = info["file"]["url_private"]
    async with httpx.AsyncClient() as http:
        anonymous = await http.get(url)
        stranger = await http.get(url, headers={"Authorization": "Bearer xoxb-other"})
        mine = await http.get(url, headers={"Authorization": f"Bearer {fake_slack.token}"})
    assert (anonymous.status_code, stranger.status_code, mine.status_code) == (401, 403, 200)
    assert mine.content == b"m4a" and fake_slack.downloads == [clip["id"]]


@pytest.fixture
async def client(fake_gemini: FakeGemini) -> AsyncIterator[genai.Client]:
    c = genai.Client(
        api_key="test-key", http_options=types.HttpOptions(base_url=fake_gemini.url, timeout=5000)
    )
    yield c
    await c.aio.aclose()
    c.close()


async def test_gemini_records_inline_parts(client: genai.Client, fake_gemini: FakeGemini) -> None:
    fake_gemini.script(text("Heard you."))
    part = types.Part.from_bytes(data=b"\x00\xffOggS", mime_type="audio/ogg")

    await client.aio.models.generate_content(model=MODEL, contents=[part, "what did I say?"])

    assert fake_gemini.inline_parts() == [{"mime_type": "audio/ogg", "data": b"\x00\xffOggS"}]


@pytest.mark.parametrize("mime", ["audio/webm", "image/gif", "application/zip"])
async def test_gemini_refuses_mime_types_it_does_not_accept(
    client: genai.Client, fake_gemini: FakeGemini, mime: str
) -> None:
    fake_gemini.script(text("never sent"))
    part = types.Part.from_bytes(data=b"bytes", mime_type=mime)

    with pytest.raises(errors.ClientError) as refused:
        await client.aio.models.generate_content(model=MODEL, contents=[part])

    assert (refused.value.code, refused.value.status) == (400, "INVALID_ARGUMENT")
    assert refused.value.message == f"Unsupported MIME type: {mime}"
    assert fake_gemini.requests == []


async def test_gemini_refuses_bad_base64_and_oversize_bodies(fake_gemini: FakeGemini) -> None:
    url = f"{fake_gemini.url}/v1beta/models/{MODEL}:generateContent"
    bad = {"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": "not base64!"}}]}]}
    async with httpx.AsyncClient() as http:
        refused = await http.post(url, json=bad, headers={"x-goog-api-key": "test-key"})
        huge = await http.post(url, content=b"x" * (21 * 1024 * 1024), headers={"x-goog-api-key": "test-key"})
    assert refused.status_code == 400 and "Base64 decoding failed" in refused.json()["error"]["message"]
    assert huge.status_code == 400 and "payload size exceeds the limit" in huge.json()["error"]["message"]
    assert fake_gemini.requests == []
