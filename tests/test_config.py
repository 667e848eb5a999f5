"""Configuration: validated at start, with messages that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli import main
from core.config import load_settings
from core.errors import ConfigError
from storage.migrate import MIGRATIONS_DIR
from tests.conftest import REDIS_URL


def test_defaults_need_no_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    settings = load_settings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'coach.db'}"
    assert settings.intervals_base_url == "https://intervals.icu"


def test_malformed_values_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENCRYPTION_KEY", "not-a-key")
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")
    with pytest.raises(ConfigError) as bad:
        load_settings()
    assert "ENCRYPTION_KEY" in bad.value.user_message and "DATABASE_URL" in bad.value.user_message
    assert "not-a-key" not in bad.value.user_message


def test_missing_required_settings_are_listed() -> None:
    settings = load_settings(encryption_key=None, telegram_bot_token=None)
    with pytest.raises(ConfigError) as missing:
        settings.require("encryption_key", "telegram_bot_token")
    assert missing.value.user_message == "Missing configuration: set ENCRYPTION_KEY, TELEGRAM_BOT_TOKEN."


def test_an_empty_value_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")  # "TELEGRAM_BOT_TOKEN=" left in .env
    with pytest.raises(ConfigError) as missing:
        load_settings().require("telegram_bot_token")
    assert missing.value.user_message == "Missing configuration: set TELEGRAM_BOT_TOKEN."


def test_secrets_never_print() -> None:
    settings = load_settings(gemini_api_key="AIza-secret-value")
    assert "AIza-secret-value" not in repr(settings)


def test_coach_migrate_creates_the_database_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["migrate"]) == 0
    every = len(list(MIGRATIONS_DIR.glob("0*.py")))
    out = capsys.readouterr()
    assert (
        out.out == f"Created the database sqlite:///{tmp_path / 'coach.db'} ({every} migration(s) applied).\n"
    )
    assert "migration applied" not in out.err
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == f"Database sqlite:///{tmp_path / 'coach.db'} is up to date.\n"


def test_bad_config_exits_with_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "oracle://x")
    assert main(["migrate"]) == 1
    assert "DATABASE_URL" in capsys.readouterr().err


def test_status_names_the_settings_still_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    monkeypatch.setenv("REDIS_URL", REDIS_URL or "redis://127.0.0.1:1/0")
    assert main(["migrate"]) == 0
    for name in (
        "GEMINI_API_KEY",
        "TELEGRAM_BOT_TOKEN",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    capsys.readouterr()
    main(["status"])
    out = capsys.readouterr().out
    assert "Next:         set GEMINI_API_KEY" in out and "SLACK_BOT_TOKEN" in out
    assert "TELEGRAM_BOT_TOKEN" not in out


def test_access_is_closed_by_default_and_checked() -> None:
    settings = load_settings(slack_allowed_teams=" T1, T2 ,,")
    assert settings.access == "invite" and settings.allowed_teams == frozenset({"T1", "T2"})
    assert (settings.turns_per_hour, settings.model_tokens_per_day) == (60, 500_000)
    with pytest.raises(ConfigError) as bad:
        load_settings(access="public", turns_per_hour=0)
    assert "ACCESS" in bad.value.user_message and "TURNS_PER_HOUR" in bad.value.user_message
