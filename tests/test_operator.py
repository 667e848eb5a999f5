"""An operator's first week, run as processes: a lost key, another working directory, bad settings.

Every mistake ends in one line on stderr and exit code 1 (2 for a usage error), with no traceback,
and nothing is written.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage.crypto import Cipher
from storage.db import database, open_database
from storage.migrate import migrate
from storage.models import Athlete, Invitation
from tests.conftest import ENCRYPTION_KEY, REDIS_URL
from tests.fakes.gemini import FakeGemini

ROOT = Path(__file__).parents[1]
API_KEY = "intervals-key-of-ann-42"


def run(home: Path, *args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """``coach ARGS`` with COACH_HOME=home, from ``cwd`` (default: a folder that is not home)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ENCRYPTION_KEY")}
    environment.update(PYTHONPATH=str(ROOT), COACH_HOME=str(home), **env)
    elsewhere = cwd or home.parent
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=environment,
        cwd=elsewhere,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The single line a refused command says; fails on a traceback, several lines or another exit code."""
    assert done.returncode == code, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    # Logs are JSON lines (stderr is no terminal); besides them the process says one thing.
    lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A COACH_HOME made the way scripts/run makes it: coach init, coach migrate, one athlete with a key."""
    home = tmp_path / "home"
    home.mkdir()
    assert run(home, "init").returncode == 0
    assert "ENCRYPTION_KEY=" in (home / ".env").read_text()
    assert run(home, "migrate").returncode == 0
    key = (home / ".env").read_text().split("ENCRYPTION_KEY=")[1].split()[0]
    db = open_database(f"sqlite:///{home / 'coach.db'}", Cipher(key))
    with db.connection_context():
        Athlete.create(name="Ann", intervals_athlete_id="i1", intervals_api_key=API_KEY)
    database.initialize(None)
    return home


def test_another_working_directory_finds_the_same_data(home: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    listed = run(home, "athletes", cwd=elsewhere)

    assert listed.returncode == 0, listed.stderr
    assert "Ann" in listed.stdout
    assert not (elsewhere / "coach.db").exists() and not (elsewhere / ".env").exists()


def test_status_never_creates_a_database(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()

    status = run(empty, "status", "--json", REDIS_URL=REDIS_URL or "redis://127.0.0.1:1/0")

    assert status.returncode == 1
    report = json.loads(status.stdout)
    [database_check] = [c for c in report["checks"] if c["name"] == "database"]
    assert not database_check["ok"] and "run coach migrate" in database_check["says"]
    assert not (empty / "coach.db").exists()


@pytest.mark.parametrize(
    "command", ["init", "athletes", "status", "rotate-key", "migrate", "invite", "chat", "telegram"]
)
def test_a_lost_env_is_refused_with_what_to_restore(home: Path, command: str) -> None:
    (home / ".env").rename(home / "env.backup")
    before = (home / "coach.db").read_bytes()

    done = run(home, command)

    if command == "status":
        assert done.returncode == 1 and "restore the ENCRYPTION_KEY" in done.stdout
    else:
        line = one_line(done)
        assert "ENCRYPTION_KEY" in line and "restore" in line, line
    assert not (home / ".env").exists(), "no new key may be written over encrypted data"
    assert (home / "coach.db").read_bytes() == before


@pytest.mark.parametrize("command", ["athletes", "rotate-key", "worker"])
def test_a_replaced_key_is_refused(home: Path, command: str) -> None:
    from cryptography.fernet import Fernet

    (home / ".env").write_text(f"ENCRYPTION_KEY={Fernet.generate_key().decode()}\n")

    line = one_line(run(home, command, REDIS_URL=REDIS_URL or "redis://127.0.0.1:1/0"))

    assert line.startswith("coach: ENCRYPTION_KEY does not decrypt the API keys stored in sqlite:///"), line
    assert "restore the key" in line


def test_status_reports_the_sync_queue_redis_and_the_worker(home: Path) -> None:
    if not REDIS_URL:
        pytest.skip("Redis not configured (run scripts/test)")
    from core.sync import outbox as sync

    key = (home / ".env").read_text().split("ENCRYPTION_KEY=")[1].split()[0]
    db = open_database(f"sqlite:///{home / 'coach.db'}", Cipher(key))
    with db.connection_context():
        sync.enqueue(Athlete.get().id, "w1", "create", {"date": "2026-12-01"})
    database.initialize(None)

    status = run(home, "status", "--json", REDIS_URL=REDIS_URL)

    checks = {c["name"]: c for c in json.loads(status.stdout)["checks"]}
    assert checks["sync queue"]["says"].startswith("1 change(s) waiting, oldest since ")
    assert checks["redis"]["ok"] and checks["encryption"]["ok"]
    assert checks["settings"]["says"] == str(home / ".env")
    # No worker runs in this test: the heartbeat is missing, and that is the report's verdict.
    assert not checks["worker"]["ok"] and status.returncode == 1


def _taken_port() -> tuple[socket.socket, int]:
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen()
    return listener, listener.getsockname()[1]


BAD_SETTINGS = {
    "redis without scheme": ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must look like redis://host:6379/0"),
    "log level": ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL must be one of 'DEBUG'"),
    "log format": ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of 'json', 'text' or 'auto'"),
    "a number": ({"TURNS_PER_HOUR": "many"}, "TURNS_PER_HOUR must be a whole number"),
    "a bound": ({"INTERVALS_TIMEOUT": "0"}, "INTERVALS_TIMEOUT must be more than 0"),
}


@pytest.mark.parametrize("case", BAD_SETTINGS, ids=list(BAD_SETTINGS))
def test_a_bad_setting_is_one_line_in_our_words(home: Path, case: str) -> None:
    env, says = BAD_SETTINGS[case]

    line = one_line(run(home, "athletes", **env))

    assert line.startswith(f"coach: Invalid configuration: {says}"), line
    assert "Value error" not in line and "Input should" not in line


def test_metrics_port_in_use_is_one_line(home: Path) -> None:
    if not REDIS_URL:
        pytest.skip("Redis not configured (run scripts/test)")
    listener, port = _taken_port()
    with listener:
        line = one_line(run(home, "worker", "--burst", REDIS_URL=REDIS_URL, METRICS_PORT=str(port)))
    assert line.startswith(f"coach: Can't listen on port {port} (Address already in use)") and line.endswith(
        "stop what uses it or set METRICS_PORT to a free port."
    ), line


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("copy-db", "coach.db"), 2, "'coach.db' is no database URL"),
        (("copy-db", "postgresql://coach:pw-4711@127.0.0.1:1/coach"), 1, "The database is not reachable at"),
        (("invite", "--uses", "0"), 2, "must be more than 0"),
        (("invite", "--days", "-1"), 2, "must be more than 0"),
    ],
)
def test_bad_input_to_a_command(home: Path, args: tuple[str, ...], code: int, says: str) -> None:
    done = run(home, *args)
    said = done.stderr.strip().splitlines()[-1]
    assert done.returncode == code and says in said, done.stderr
    assert "Traceback" not in done.stderr and "pw-4711" not in done.stderr
    if args[0] == "invite":
        key = (home / ".env").read_text().split("ENCRYPTION_KEY=")[1].split()[0]
        db = open_database(f"sqlite:///{home / 'coach.db'}", Cipher(key))
        with db.connection_context():
            assert Invitation.select().count() == 0
        database.initialize(None)


def test_version_and_help(home: Path) -> None:
    version = run(home, "--version")
    assert version.returncode == 0 and version.stdout.startswith("coach 0.")
    helped = run(home, "--help")
    assert helped.returncode == 0 and "status" in helped.stdout
    assert run(home, "no-such-command").returncode == 2


def test_the_first_run_invitation_replaces_the_last_and_ignores_the_terminal(
    home: Path, fake_gemini: FakeGemini
) -> None:
    env = {"GEMINI_API_KEY": fake_gemini.api_key, "GEMINI_BASE_URL": fake_gemini.url}
    fake_gemini.script()
    chat = subprocess.run(
        [sys.executable, "-m", "cli", "chat", "--as", "owner"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "COACH_HOME": str(home), **env},
        input="/help\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert chat.returncode == 0, chat.stderr

    first, second = run(home, "invite", "--first"), run(home, "invite", "--first")

    assert "Invite code: " in first.stdout and "Invite code: " in second.stdout
    assert "send /join " in second.stdout and "open the link" not in second.stdout  # no Telegram token
    listed = run(home, "invite", "--list").stdout.splitlines()[1:]
    assert [line.split()[1] for line in listed] == ["open", "revoked"]
    newest_id = listed[0].split()[0]
    assert run(home, "invite", "--revoke", newest_id).returncode == 0
    assert [line.split()[1] for line in run(home, "invite", "--list").stdout.splitlines()[1:]] == [
        "revoked",
        "revoked",
    ]


def test_ctrl_c_leaves_chat_at_once_and_quietly(home: Path, fake_gemini: FakeGemini) -> None:
    env = {"GEMINI_API_KEY": fake_gemini.api_key, "GEMINI_BASE_URL": fake_gemini.url}
    chat = subprocess.Popen(
        [sys.executable, "-m", "cli", "chat"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "COACH_HOME": str(home), **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)  # past start-up, waiting at the prompt for a line that never comes
        chat.send_signal(signal.SIGINT)
        _, err = chat.communicate(timeout=5)
    finally:
        chat.kill()
    assert chat.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


def test_migrate_a_database_in_home(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    home.mkdir()
    (home / ".env").write_text(f"ENCRYPTION_KEY={ENCRYPTION_KEY}\n")
    done = run(home, "migrate")
    assert done.returncode == 0
    assert done.stdout.splitlines() == [done.stdout.strip()] and done.stdout.startswith(
        "Created the database"
    )
    db = open_database(f"sqlite:///{home / 'coach.db'}", Cipher(ENCRYPTION_KEY))
    assert migrate(db) == []
    database.initialize(None)
