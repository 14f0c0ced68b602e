from __future__ import annotations

import pytest
from pydantic import ValidationError

from admitone.config import Settings, normalise_database_url

LONG_SECRET = "k" * 24 + "0123456789abcdef"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ADMITONE_ENV",
        "ADMITONE_SECRET_KEY",
        "ADMITONE_DATABASE_URL",
        "ADMITONE_PAYMENT_GATEWAY",
        "ADMITONE_EMAIL_BACKEND",
        "ADMITONE_STRIPE_SECRET_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


def production_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMITONE_PAYMENT_GATEWAY", "stripe")
    monkeypatch.setenv("ADMITONE_STRIPE_SECRET_KEY", "sk_test_not_a_real_key")
    monkeypatch.setenv("ADMITONE_EMAIL_BACKEND", "smtp")


def test_production_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMITONE_ENV", "production")
    with pytest.raises(ValidationError, match="ADMITONE_SECRET_KEY"):
        Settings()


def test_production_refuses_a_short_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMITONE_ENV", "production")
    monkeypatch.setenv("ADMITONE_SECRET_KEY", "short-but-not-default")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings()


def test_production_accepts_a_long_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMITONE_ENV", "production")
    monkeypatch.setenv("ADMITONE_SECRET_KEY", LONG_SECRET)
    production_backends(monkeypatch)
    settings = Settings()
    assert settings.secret_key == LONG_SECRET
    assert settings.json_logs


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ADMITONE_PAYMENT_GATEWAY", "fake", "PAYMENT_GATEWAY=fake"),
        ("ADMITONE_EMAIL_BACKEND", "console", "EMAIL_BACKEND must be smtp"),
    ],
)
def test_production_refuses_the_development_fakes(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv("ADMITONE_ENV", "production")
    monkeypatch.setenv("ADMITONE_SECRET_KEY", LONG_SECRET)
    production_backends(monkeypatch)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_the_stripe_gateway_needs_its_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMITONE_PAYMENT_GATEWAY", "stripe")
    with pytest.raises(ValidationError, match="ADMITONE_STRIPE_SECRET_KEY must be set"):
        Settings()
    monkeypatch.setenv("ADMITONE_STRIPE_SECRET_KEY", "sk_test_not_a_real_key")
    assert Settings().payment_gateway == "stripe"


def test_development_is_the_default_environment() -> None:
    settings = Settings()
    assert settings.env == "development"
    assert settings.secret_key is None  # see tests/test_signing_key.py
    assert not settings.json_logs


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/admitone", "postgresql+asyncpg://u:p@db:5432/admitone"),
        ("postgresql://u@db/admitone", "postgresql+asyncpg://u@db/admitone"),
        ("postgresql+asyncpg://u@db/admitone", "postgresql+asyncpg://u@db/admitone"),
        ("sqlite:///./admitone.db", "sqlite+aiosqlite:///./admitone.db"),
        ("sqlite:////var/lib/admitone.db", "sqlite+aiosqlite:////var/lib/admitone.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls_are_normalised_to_async_drivers(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected
    assert Settings(database_url=given).database_url == expected


def test_database_url_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMITONE_DATABASE_URL", "postgres://db/x")
    settings = Settings()
    assert settings.database_url == "postgresql+asyncpg://db/x"
    assert not settings.is_sqlite
    assert not settings.should_auto_migrate
    assert settings.sqlite_path is None


def test_sqlite_is_embedded_and_migrates_itself() -> None:
    settings = Settings(database_url="sqlite:///./data/admitone.db")
    assert settings.is_sqlite
    assert settings.should_auto_migrate
    assert str(settings.sqlite_path) == "data/admitone.db"
    assert not Settings(database_url="sqlite:///./a.db", auto_migrate=False).should_auto_migrate
