"""Settings, read from the environment with the ``ADMITONE_`` prefix (12-factor)."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from admitone.core.secret_file import MIN_SECRET_LENGTH, SecretFileError, read_or_create_secret


class SecretKeyUnavailable(ValueError):
    """This process has no signing key it may use, and must not start."""


class ConfigurationError(Exception):
    """What is wrong with the environment's settings, one ``error: ...`` line per problem."""


SECRET_KEY_FILE_SUFFIX = ".secret"  # noqa: S105 - a file name, not a secret

Environment = Literal["development", "test", "production"]


def normalise_database_url(url: str) -> str:
    """Accept the URLs operators type and return the async driver form SQLAlchemy needs."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ADMITONE_", env_file=None, extra="ignore")

    env: Environment = "development"
    # Signs access tokens and guest order links. Unset: see `signing_key`.
    secret_key: str | None = None
    database_url: str = "sqlite+aiosqlite:///./admitone.db"
    database_pool_size: int = Field(default=10, ge=1)
    database_max_overflow: int = Field(default=20, ge=0)
    redis_url: str | None = None

    host: str = "127.0.0.1"
    port: int = 4000
    public_url: str = "http://127.0.0.1:4000"
    log_json: bool | None = None  # None: JSON in production, console otherwise
    log_level: str = "INFO"

    # Embedded mode: migrate an SQLite database on start. PostgreSQL is migrated explicitly.
    auto_migrate: bool | None = None
    run_worker_in_process: bool = True

    access_token_minutes: int = Field(default=15, ge=1)
    refresh_token_days: int = Field(default=30, ge=1)
    password_min_length: int = Field(default=10, ge=8)
    # Argon2 hashes computed at once per process; each holds a core and its memory cost.
    password_hashing_concurrency: int = Field(default=2, ge=1)

    rate_limits_enabled: bool = True
    rate_limit_default: str = "100/minute"
    rate_limit_strict: str = "10/minute"
    # Per user (per address for guests): opening support requests and commenting on them.
    rate_limit_support: str = "10/minute"
    rate_limit_login_per_account: str = "5/minute"
    rate_limit_login_per_ip: str = "20/minute"
    rate_limit_key_prefix: str = "admitone"
    # How long a request waits on Redis for its rate limits and pending-order counts before it
    # goes ahead without them: a slow or dead Redis must cost a request milliseconds, not seconds.
    redis_timeout_seconds: float = Field(default=0.5, gt=0)
    # Request bodies (bytes), refused with 413 before they are read: JSON bodies are small, and
    # only Stripe's webhook (events with many lines) needs more.
    max_body_bytes: int = Field(default=65_536, ge=1024)
    max_webhook_body_bytes: int = Field(default=1_048_576, ge=1024)

    # Jobs (admitone.jobs): queue name -> concurrency of one worker process.
    worker_queues: dict[str, int] = Field(
        default_factory=lambda: {"default": 10, "emails": 5, "scheduled": 2}
    )
    job_lease_seconds: int = Field(default=60, ge=5)
    job_poll_interval_seconds: float = Field(default=1.0, gt=0)
    job_retention_hours: int = Field(default=168, ge=1)
    # Extra modules whose job handlers a worker loads besides admitone.wiring (JSON list).
    job_modules: list[str] = Field(default_factory=list)

    # Email (admitone.notifications)
    email_backend: Literal["console", "smtp", "memory"] = "console"
    email_from: str = "admitone <tickets@admitone.test>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)

    # Purchases (admitone.ticketing) and payments (admitone.payments)
    payment_timeout_minutes: int = Field(default=15, ge=1)
    max_tickets_per_order: int = Field(default=10, ge=1)
    # Orders left waiting for payment by one client address for one event, and their seats
    # (a guest rotating made-up emails could otherwise hold an on-sale's seats for nothing).
    max_pending_orders_per_address: int = Field(default=10, ge=1)
    max_pending_seats_per_address: int = Field(default=40, ge=1)
    payment_gateway: Literal["fake", "stripe"] = "fake"
    # A declined renewal leaves the subscriber a member this long, retried every few days and
    # reminded by email, before the subscription expires.
    subscription_grace_days: int = Field(default=7, ge=0, le=60)
    subscription_retry_days: int = Field(default=2, ge=1, le=30)
    fake_gateway_latency_ms: float = Field(default=0.0, ge=0)
    # A purchase body may name no payment method; the fake then charges this test card.
    # None makes such orders wait for the buyer to confirm a payment intent instead.
    fake_gateway_default_payment_method: str | None = "pm_card_visa"
    # Stripe (admitone.payments.stripe_gateway). SecretStr keeps the keys out of reprs and logs.
    stripe_secret_key: SecretStr | None = None
    stripe_publishable_key: str | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str = "https://api.stripe.com"
    # Per attempt; the SDK retries a timed-out request (same idempotency key) up to
    # stripe_max_network_retries times, so the worst case is about (retries + 1) x timeout.
    stripe_timeout_seconds: float = Field(default=10.0, gt=0)
    stripe_max_network_retries: int = Field(default=2, ge=0, le=5)

    # Live updates (admitone.realtime)
    sse_keepalive_seconds: float = Field(default=15.0, gt=0)
    sse_replay_buffer_size: int = Field(default=100, ge=0)
    sse_client_queue_size: int = Field(default=100, ge=1)
    # Open streams of one process: per signed-in user (a guest: per address), and in all.
    sse_max_streams_per_client: int = Field(default=10, ge=1)
    sse_max_streams: int = Field(default=1000, ge=1)

    # The key `signing_key` made or read when ADMITONE_SECRET_KEY is unset, kept for the process.
    _generated_key: str | None = PrivateAttr(default=None)

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("secret_key")
    @classmethod
    def _blank_secret_is_unset(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else value

    @model_validator(mode="after")
    def _refuse_weak_secret_in_production(self) -> Settings:
        if self.env == "production" and (
            self.secret_key is None or len(self.secret_key) < MIN_SECRET_LENGTH
        ):
            raise ValueError(
                "ADMITONE_SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_LENGTH} characters when ADMITONE_ENV=production"
            )
        return self

    @model_validator(mode="after")
    def _refuse_development_backends_in_production(self) -> Settings:
        # The fake gateway marks orders paid without taking money, and the console sender
        # prints buyers' emails and order links into the logs.
        if self.env == "production" and self.payment_gateway == "fake":
            raise ValueError(
                "ADMITONE_PAYMENT_GATEWAY=fake is refused when ADMITONE_ENV=production"
            )
        if self.env == "production" and self.email_backend != "smtp":
            raise ValueError("ADMITONE_EMAIL_BACKEND must be smtp when ADMITONE_ENV=production")
        return self

    @model_validator(mode="after")
    def _stripe_needs_its_key(self) -> Settings:
        if self.payment_gateway == "stripe" and self.stripe_secret_key is None:
            raise ValueError(
                "ADMITONE_STRIPE_SECRET_KEY must be set when ADMITONE_PAYMENT_GATEWAY=stripe"
            )
        return self

    @property
    def signing_key(self) -> str:
        """``ADMITONE_SECRET_KEY``; or else never a value anyone else knows:

        - an SQLite file database keeps a random key next to it (``<database>.secret``, mode
          0600), made on the first start: the server, its worker and the CLI share it, and a
          restart signs nobody out;
        - an in-memory database, or a test, gets a random key that dies with the process, as
          the data does;
        - any other database (PostgreSQL) has no place every process and machine reads, so the
          key must be given (production refuses to start without it anyway).
        """
        if self.secret_key is not None:
            return self.secret_key
        if self._generated_key is None:
            self._generated_key = self._generate_or_read_key()
        return self._generated_key

    def _generate_or_read_key(self) -> str:
        if self.env == "test" or (self.is_sqlite and self.sqlite_path is None):
            return secrets.token_urlsafe(48)
        if self.sqlite_path is None:
            raise SecretKeyUnavailable(
                "ADMITONE_SECRET_KEY must be set when the database is not an SQLite file: "
                "every process and machine sharing the database must sign with the same key"
            )
        key_file = self.sqlite_path.with_name(self.sqlite_path.name + SECRET_KEY_FILE_SUFFIX)
        try:
            return read_or_create_secret(key_file)
        except SecretFileError as exc:
            raise SecretKeyUnavailable(f"{exc}; or set ADMITONE_SECRET_KEY") from exc

    def ensure_signing_key(self) -> None:
        """Settle the signing key now (making its file on the first start), so that a process
        without one refuses to start instead of failing its first request."""
        _ = self.signing_key

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @property
    def json_logs(self) -> bool:
        return self.env == "production" if self.log_json is None else self.log_json

    @cached_property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        _, _, path = self.database_url.partition(":///")
        return Path(path) if path and path != ":memory:" else None


def load_settings() -> Settings:
    """The settings of a process about to serve or work, read from the environment: refused,
    with the settings at fault named, when it must not start with them."""
    try:
        settings = Settings()
        settings.ensure_signing_key()
    except ValidationError as exc:
        problems = [error["msg"].removeprefix("Value error, ") for error in exc.errors()]
        raise ConfigurationError("\n".join(f"error: {p}" for p in problems)) from exc
    except SecretKeyUnavailable as exc:
        raise ConfigurationError(f"error: {exc}") from exc
    return settings
