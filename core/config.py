"""Settings, read once from the environment (and an optional .env) and validated at start."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError

# Flags whose absence should stop a command, keyed by the env var the operator sets.
_ENV_NAMES = {
    "encryption_key": "ENCRYPTION_KEY",
    "gemini_api_key": "GEMINI_API_KEY",
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
}


# Where cli.py lives: a checkout, or the folder an operator installed into.
PROJECT_DIR = Path(__file__).resolve().parent.parent
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The newest stable Flash model on Google's models page (ai.google.dev/gemini-api/docs/models) when
# gemini-2.5-flash was shut down (2026-06-17): the longest way to its own retirement.
DEFAULT_GEMINI_MODEL = "gemini-3.8-flash"


def coach_home() -> Path:
    """Where ``.env`` and the default SQLite database live: ``$COACH_HOME``, else the project directory.

    Never the working directory: a systemd unit or a ``cd`` elsewhere must find the same data.
    """
    home = os.environ.get("COACH_HOME")
    return Path(home).expanduser().resolve() if home else PROJECT_DIR


def env_file() -> Path:
    """The ``.env`` file settings are read from (it need not exist)."""
    return coach_home() / ".env"


class Settings(BaseSettings):
    """Every knob of the bot and the worker. Secrets are ``SecretStr`` so they never print."""

    # An empty value (TELEGRAM_BOT_TOKEN= in .env) counts as unset, so it is reported as missing.
    # ``load_settings`` passes the file; COACH_HOME says where it is.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, env_ignore_empty=True)

    # A relative SQLite path is relative to COACH_HOME (see ``_known_database``).
    database_url: str = Field(default="sqlite:///coach.db", validate_default=True)
    redis_url: str = "redis://localhost:6379/0"
    encryption_key: SecretStr | None = None
    intervals_base_url: str = "https://intervals.icu"
    intervals_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    # The service allows about 10 requests a second per IP; stay under it.
    intervals_rate: Annotated[float, Field(gt=0, le=50)] = 8.0
    gemini_api_key: SecretStr | None = None
    gemini_model: str = DEFAULT_GEMINI_MODEL
    gemini_base_url: str | None = None
    gemini_timeout: Annotated[float, Field(gt=0, le=300)] = 30.0
    # A thinking level (minimal, low, medium, high) or a token budget for every call; unset: per job.
    gemini_thinking: str | None = None
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_listen: str = "0.0.0.0"
    telegram_webhook_port: Annotated[int, Field(gt=0, lt=65536)] = 8443
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None
    # HTTP mode's port; Procfile hosts (Heroku and the like) say which port to take in PORT.
    slack_port: Annotated[int, Field(gt=0, lt=65536)] = Field(
        default=3000, validation_alias=AliasChoices("SLACK_PORT", "PORT")
    )
    # Who may chat: "invite" (invitation codes; Slack workspace members) or "open" (anyone).
    access: Literal["invite", "open"] = "invite"
    slack_allowed_teams: str = ""  # comma-separated Slack team ids; empty: any the app is installed in
    turns_per_hour: Annotated[int, Field(ge=1)] = 60
    model_tokens_per_day: Annotated[int, Field(ge=1000)] = 500_000
    max_message_chars: Annotated[int, Field(ge=100, le=100_000)] = 4000
    log_level: Literal[LOG_LEVELS] = "INFO"  # type: ignore[valid-type]
    log_format: Literal["json", "text", "auto"] = "auto"  # auto: json unless stderr is a terminal
    metrics_port: Annotated[int, Field(ge=0, lt=65536)] | None = None
    # Recovery alerts: today against the 7-day average, and form (CTL - ATL).
    recovery_resting_hr_pct: Annotated[float, Field(gt=0, le=100)] = 10.0
    recovery_hrv_pct: Annotated[float, Field(gt=0, le=100)] = 15.0
    recovery_tsb: Annotated[float, Field(lt=0, ge=-200)] = -30.0

    @field_validator("encryption_key")
    @classmethod
    def _keys_are_fernet(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from storage.crypto import parse_keys

            parse_keys(value.get_secret_value())
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        return database_url(value)

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError("has a port that is not a number") from None
        if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
            raise ValueError("must look like redis://host:6379/0 (or rediss:// for TLS)")
        return value

    @field_validator(
        "intervals_base_url",
        "gemini_base_url",
        "telegram_api_base_url",
        "slack_api_url",
        "telegram_webhook_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        parts = urlsplit(value or "")
        if value is not None and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ValueError("must be an http:// or https:// address")
        return value

    @field_validator("gemini_thinking")
    @classmethod
    def _thinking(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if value in ("minimal", "low", "medium", "high") or (value.isdigit() and int(value) <= 24_576):
            return value
        raise ValueError("must be minimal, low, medium, high or a token budget from 0 to 24576")

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _any_case(cls, value: Any, info: Any) -> Any:
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "log_level" else value.lower()

    @property
    def allowed_teams(self) -> frozenset[str]:
        """SLACK_ALLOWED_TEAMS as a set (empty: no restriction)."""
        return frozenset(t.strip() for t in self.slack_allowed_teams.split(",") if t.strip())

    def require(self, *fields: str) -> None:
        """Raise ConfigError naming every listed setting that is unset."""
        missing = [_ENV_NAMES.get(f, f.upper()) for f in fields if getattr(self, f) is None]
        if missing:
            raise ConfigError("Missing configuration: set " + ", ".join(missing) + ".")


def database_url(value: str) -> str:
    """A DATABASE_URL checked for a known scheme, a relative SQLite path made absolute under COACH_HOME."""
    if value.startswith("sqlite:///"):
        path = value[len("sqlite:///") :]
        if path and path != ":memory:" and not Path(path).is_absolute():
            return f"sqlite:///{coach_home() / path}"
        return value
    if not value.startswith(("postgres://", "postgresql://")):
        raise ValueError("must start with sqlite:/// (a file) or postgresql:// (a server)")
    return value


def masked_url(url: str) -> str:
    """``url`` fit to print: any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


# pydantic's error types, said the way this project says them (its own words read "Value error, ...").
_WORDS = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "greater_than": "must be more than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "literal_error": "must be one of {expected}",
}


def _explain(error: Any) -> str:
    name = str(error["loc"][0]).upper() if error["loc"] else "A setting"
    ctx = error.get("ctx") or {}
    if error["type"] == "value_error":
        return f"{name} {ctx.get('error', error['msg'])}"
    return f"{name} " + _WORDS.get(error["type"], error["msg"]).format(**ctx)


def load_settings(**overrides: object) -> Settings:
    """Build Settings from the environment and COACH_HOME's ``.env``, or one clear ConfigError."""
    try:
        return Settings(_env_file=env_file(), **overrides)  # type: ignore[arg-type, call-arg]
    except PydanticValidationError as exc:
        raise ConfigError("Invalid configuration: " + "; ".join(map(_explain, exc.errors())) + ".") from None
