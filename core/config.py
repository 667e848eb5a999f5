"""Settings, read once from the environment (and an optional .env) and validated at start."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
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


class Settings(BaseSettings):
    """Every knob of the bot and the worker. Secrets are ``SecretStr`` so they never print."""

    # An empty value (TELEGRAM_BOT_TOKEN= in .env) counts as unset, so it is reported as missing.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True, env_ignore_empty=True)

    database_url: str = "sqlite:///coach.db"
    redis_url: str = "redis://localhost:6379/0"
    encryption_key: SecretStr | None = None
    intervals_base_url: str = "https://intervals.icu"
    intervals_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    # The service allows about 10 requests a second per IP; stay under it.
    intervals_rate: Annotated[float, Field(gt=0, le=50)] = 8.0
    gemini_api_key: SecretStr | None = None
    gemini_model: str = "gemini-2.5-flash"
    gemini_base_url: str | None = None
    gemini_timeout: Annotated[float, Field(gt=0, le=300)] = 30.0
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_listen: str = "0.0.0.0"
    telegram_webhook_port: Annotated[int, Field(gt=0, lt=65536)] = 8443
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None
    # Who may chat: "invite" (invitation codes; Slack workspace members) or "open" (anyone).
    access: Literal["invite", "open"] = "invite"
    slack_allowed_teams: str = ""  # comma-separated Slack team ids; empty: any the app is installed in
    turns_per_hour: Annotated[int, Field(ge=1)] = 60
    model_tokens_per_day: Annotated[int, Field(ge=1000)] = 500_000
    max_message_chars: Annotated[int, Field(ge=100, le=100_000)] = 4000
    log_level: str = "INFO"
    log_format: str = "auto"  # json, text, or auto: json unless stderr is a terminal
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
        if not value.startswith(("sqlite:///", "postgres://", "postgresql://")):
            raise ValueError("must start with sqlite:///, postgres:// or postgresql://")
        return value

    @property
    def allowed_teams(self) -> frozenset[str]:
        """SLACK_ALLOWED_TEAMS as a set (empty: no restriction)."""
        return frozenset(t.strip() for t in self.slack_allowed_teams.split(",") if t.strip())

    def require(self, *fields: str) -> None:
        """Raise ConfigError naming every listed setting that is unset."""
        missing = [_ENV_NAMES.get(f, f.upper()) for f in fields if getattr(self, f) is None]
        if missing:
            raise ConfigError("Missing configuration: set " + ", ".join(missing) + ".")


def masked_url(url: str) -> str:
    """``url`` fit to print: any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning pydantic's report into one clear ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{str(e['loc'][0]).upper() if e['loc'] else 'setting'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"Invalid configuration: {problems}") from None
