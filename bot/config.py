"""The one module that reads the environment; everything else gets values passed in."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

# Keep this module free of Slack and SQL imports: the `check` CLI path imports it.


def rules_path_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """Return SOCIAL_REVIEW_RULES if set and not blank."""
    env = os.environ if environ is None else environ
    value = env.get("SOCIAL_REVIEW_RULES", "").strip()
    return value or None


def cli_locale_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """Return the CLI message locale forced by SOCIAL_REVIEW_LOCALE (ja|en), if any."""
    env = os.environ if environ is None else environ
    value = env.get("SOCIAL_REVIEW_LOCALE", "").strip().lower()
    return value if value in ("ja", "en") else None


DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///data/social-review.db"
DEFAULT_RETENTION_DAYS = 90
DEFAULT_DRAIN_SECONDS = 30.0

_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")


class ConfigError(Exception):
    """The environment cannot start the app; carries every problem found, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class SlackConfig:
    """Everything the Slack app needs from the environment, already validated."""

    mode: Literal["socket", "http"]
    bot_token: str
    signing_secret: str | None
    app_token: str | None
    channels: frozenset[str]
    rules_path: str | None
    database_url: str
    api_url: str
    retention_days: int = DEFAULT_RETENTION_DAYS  # 0 keeps draft text forever
    drain_seconds: float = DEFAULT_DRAIN_SECONDS


@dataclass(frozen=True)
class LogSettings:
    """How the app logs: format (auto|json|text), level, and whether draft text may appear."""

    format: str = "auto"
    level: str = "INFO"
    drafts: bool = False


_LOG_FORMATS = ("auto", "json", "text")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_TRUE = ("1", "true", "yes", "on")


def log_settings_from_env(environ: Mapping[str, str] | None = None) -> LogSettings:
    """Return the logging settings; unknown values fall back to defaults (load_slack_config reports them)."""
    env = os.environ if environ is None else environ
    fmt = env.get("SOCIAL_REVIEW_LOG_FORMAT", "").strip().lower() or "auto"
    level = env.get("SOCIAL_REVIEW_LOG_LEVEL", "").strip().upper() or "INFO"
    drafts = env.get("SOCIAL_REVIEW_LOG_DRAFTS", "").strip().lower() in _TRUE
    return LogSettings(
        format=fmt if fmt in _LOG_FORMATS else "auto",
        level=level if level in _LOG_LEVELS else "INFO",
        drafts=drafts,
    )


def health_port_from_env(environ: Mapping[str, str] | None = None) -> int:
    """Return the port the container health check probes (SOCIAL_REVIEW_PORT, default 3000)."""
    env = os.environ if environ is None else environ
    value = env.get("SOCIAL_REVIEW_PORT", "").strip()
    return int(value) if value.isdigit() else 3000


def database_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """Return DATABASE_URL in the form SQLAlchemy expects (psycopg 3 for PostgreSQL)."""
    env = os.environ if environ is None else environ
    return normalize_database_url(env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL)


def normalize_database_url(url: str) -> str:
    """Return url with postgres:// and postgresql:// pointed at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_slack_config(http: bool, environ: Mapping[str, str] | None = None) -> SlackConfig:
    """Read and validate the Slack app's settings; raise ConfigError listing every problem."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str:
        return env.get(name, "").strip()

    problems: list[str] = []
    bot_token = get("SLACK_BOT_TOKEN")
    if not bot_token:
        problems.append("SLACK_BOT_TOKEN is not set (the Bot User OAuth Token, xoxb-…).")
    elif not bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN must be a bot token starting with xoxb-.")

    signing_secret = get("SLACK_SIGNING_SECRET") or None
    app_token = get("SLACK_APP_TOKEN") or None
    if http:
        if signing_secret is None:
            problems.append("SLACK_SIGNING_SECRET is not set (needed by `serve --http`).")
    elif app_token is None:
        problems.append(
            "SLACK_APP_TOKEN is not set: set it (xapp-…) for Socket Mode, "
            "or run `social-review serve --http`."
        )
    if app_token is not None and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN must be an app-level token starting with xapp-.")

    channels = frozenset(c for c in re.split(r"[\s,]+", get("SOCIAL_REVIEW_CHANNELS")) if c)
    if not channels:
        problems.append(
            "SOCIAL_REVIEW_CHANNELS is not set: list the channel ids to watch, e.g. C0123ABCDEF."
        )
    bad = sorted(c for c in channels if not _CHANNEL_ID.match(c))
    if bad:
        problems.append(
            "SOCIAL_REVIEW_CHANNELS must hold channel ids (C… or G…), not names: " + ", ".join(bad)
        )

    api_url = get("SLACK_API_URL") or DEFAULT_API_URL
    parsed = urlsplit(api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        problems.append(f"SLACK_API_URL must be an http(s) URL, got {api_url!r}.")
    elif not api_url.endswith("/"):
        api_url += "/"  # the SDK joins method names onto it

    database_url = database_url_from_env(env)
    if "://" not in database_url:
        problems.append(
            f"DATABASE_URL must be a URL such as sqlite:///data/x.db, got {database_url!r}."
        )

    retention = get("SOCIAL_REVIEW_RETENTION_DAYS") or str(DEFAULT_RETENTION_DAYS)
    if not retention.isdigit():
        problems.append(
            "SOCIAL_REVIEW_RETENTION_DAYS must be a whole number of days "
            f"(0 keeps draft text forever), got {retention!r}."
        )
    drain = get("SOCIAL_REVIEW_DRAIN_SECONDS") or str(DEFAULT_DRAIN_SECONDS)
    try:
        drain_seconds = float(drain)
        if not 0 <= drain_seconds <= 3600:
            raise ValueError(drain)
    except ValueError:
        problems.append(
            f"SOCIAL_REVIEW_DRAIN_SECONDS must be a number of seconds (0-3600), got {drain!r}."
        )
    log_format = get("SOCIAL_REVIEW_LOG_FORMAT").lower()
    if log_format and log_format not in _LOG_FORMATS:
        problems.append(f"SOCIAL_REVIEW_LOG_FORMAT must be auto, json or text, got {log_format!r}.")
    log_level = get("SOCIAL_REVIEW_LOG_LEVEL").upper()
    if log_level and log_level not in _LOG_LEVELS:
        problems.append(
            f"SOCIAL_REVIEW_LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, got {log_level!r}."
        )

    if problems:
        raise ConfigError(problems)
    return SlackConfig(
        mode="http" if http else "socket",
        bot_token=bot_token,
        signing_secret=signing_secret,
        app_token=app_token,
        channels=channels,
        rules_path=rules_path_from_env(env),
        database_url=database_url,
        api_url=api_url,
        retention_days=int(retention),
        drain_seconds=drain_seconds,
    )


def cache_dir_from_env(environ: Mapping[str, str] | None = None) -> Path:
    """Return where `check` may remember which rules files already passed their examples."""
    env = os.environ if environ is None else environ
    explicit = env.get("SOCIAL_REVIEW_CACHE_DIR", "").strip()
    if explicit:
        return Path(explicit)
    base = env.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "social-review"
