"""The operator's commands: coach invite, athletes, block, unblock, forget (run as processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from peewee import Database

from core.access import admission as access
from core.access import athletes
from storage.models import Athlete, ConversationTurn, Invitation
from tests.conftest import ENCRYPTION_KEY, close_test_database, open_test_database
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).parents[1]


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Database]:
    handle = open_test_database("sqlite", tmp_path)
    yield handle
    close_test_database(handle)


def coach(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'coach.db'}",
        "ENCRYPTION_KEY": ENCRYPTION_KEY,
        "TELEGRAM_BOT_TOKEN": "",
        **env,
    }
    environment = {k: v for k, v in environment.items() if v != ""}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=environment,
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_invite_prints_the_code_and_the_telegram_link(
    sqlite: Database, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    done = coach(
        tmp_path,
        "invite",
        "--uses",
        "3",
        "--days",
        "2",
        TELEGRAM_BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_BASE_URL=fake_telegram.url,
    )
    assert done.returncode == 0, done.stderr
    code = done.stdout.split("Invite code: ", 1)[1].split()[0]
    assert f"Telegram link: https://t.me/coach_test_bot?start={code}" in done.stdout
    assert [c.method for c in fake_telegram.calls] == ["getMe"]
    [invitation] = Invitation.select()
    assert invitation.max_uses == 3 and invitation.code_hash == access.hash_code(code)

    listed = coach(tmp_path, "invite", "--list")
    assert "open" in listed.stdout and "0/3" in listed.stdout and code not in listed.stdout
    assert coach(tmp_path, "invite", "--revoke", code).stdout.startswith("Revoked.")
    again = coach(tmp_path, "invite", "--revoke", code)
    assert again.returncode == 1 and "no open invitation has that id or code" in again.stderr
    assert "revoked" in coach(tmp_path, "invite", "--list").stdout


def test_invite_without_telegram_prints_the_code_and_join(sqlite: Database, tmp_path: Path) -> None:
    done = coach(tmp_path, "invite")
    code = done.stdout.split("Invite code: ", 1)[1].split()[0]
    assert "Telegram link" not in done.stdout and f"send /join {code}" in done.stdout


async def test_invite_first_only_before_anyone_is_admitted(sqlite: Database, tmp_path: Path) -> None:
    assert "Invite code: " in coach(tmp_path, "invite", "--first").stdout
    assert coach(tmp_path, "invite", "--first", ACCESS="open").stdout == ""
    await athletes.identify("telegram", "1", "1", name="Owner")
    assert coach(tmp_path, "invite", "--first").stdout == ""
    assert Invitation.select().count() == 1


async def test_athletes_block_and_unblock(sqlite: Database, tmp_path: Path) -> None:
    ann = await athletes.identify("telegram", "1", "1", name="Ann")
    await athletes.identify("slack", "U1", "D1", name="Bob")
    ConversationTurn.create(athlete=ann, role="user", content={"role": "user", "parts": []})

    listing = coach(tmp_path, "athletes").stdout.splitlines()
    assert listing[0].split() == ["id", "name", "platforms", "admitted", "(UTC)", "last", "message", "status"]
    assert listing[1].split()[:3] == [str(ann), "Ann", "telegram"] and listing[1].endswith("ok")
    assert "slack" in listing[2] and " - " in listing[2]  # Bob never wrote to the model

    assert coach(tmp_path, "block", str(ann)).returncode == 0
    assert Athlete.get_by_id(ann).blocked_at is not None and "blocked" in coach(tmp_path, "athletes").stdout
    assert coach(tmp_path, "unblock", str(ann)).returncode == 0
    assert Athlete.get_by_id(ann).blocked_at is None
    missing = coach(tmp_path, "block", "999")
    assert missing.returncode == 1 and "there is no athlete 999" in missing.stderr


async def test_forget_asks_and_erases(sqlite: Database, tmp_path: Path) -> None:
    ann = await athletes.identify("telegram", "1", "1", name="Ann")
    bob = await athletes.identify("telegram", "2", "2", name="Bob")

    kept = coach(tmp_path, "forget", str(ann), stdin="2\n")
    assert "[1] Erase everything  [2] Keep" in kept.stdout and "Kept. Nothing was erased." in kept.stdout
    assert Athlete.get_or_none(Athlete.id == ann) is not None

    erased = coach(tmp_path, "forget", str(ann), stdin="1\n")
    assert erased.returncode == 0 and f"Erased athlete {ann}" in erased.stdout
    assert [a.id for a in Athlete.select()] == [bob]
    assert coach(tmp_path, "forget", str(bob), "--yes").returncode == 0
    assert Athlete.select().count() == 0
    assert coach(tmp_path, "forget", "999").returncode == 1
