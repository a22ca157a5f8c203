"""load_settings from an explicit mapping: defaults, overrides, and errors that name the variable."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from shared.settings import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    SECRET_VARIABLES,
    Settings,
    SettingsError,
    Timeouts,
    load_settings,
)

STORAGE_KEY = "fake-storage-key-FAKE-FAKE-FAKE-FAKE-0001"
JWT = "fake-jwt-secret-FAKE-FAKE-FAKE-FAKE-0002"
PASSWORD = "fake-initial-pass-0003"
SECRETS = {"STORAGE_ENCRYPTION_KEY": STORAGE_KEY, "JWT_SECRET": JWT, "INITIAL_PASSWORD": PASSWORD}


def test_defaults_from_an_empty_mapping() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.environment == "development"
    assert settings.environment == "development"
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.redis_url == DEFAULT_REDIS_URL
    assert settings.data_dir == Path(".omniroute")
    assert settings.host == "127.0.0.1"
    assert (settings.edge_port, settings.control_port, settings.worker_port) == (20128, 20129, 20130)
    assert settings.fake_upstream_port == 20131
    assert settings.require_api_key is True
    assert settings.allow_private_upstreams is False
    assert settings.storage_encryption_key is None
    assert settings.jwt_secret is None
    assert settings.initial_password is None
    assert settings.timeouts == Timeouts()
    assert settings.log_level == "INFO"


def test_empty_strings_mean_default() -> None:
    env = dict.fromkeys(
        [
            "OMNIROUTE_ENV",
            "OMNIROUTE_LOG_LEVEL",
            "DATABASE_URL",
            "REDIS_URL",
            "OMNIROUTE_EDGE_PORT",
            "REQUIRE_API_KEY",
            "JWT_SECRET",
            "STORAGE_ENCRYPTION_KEY",
            "INITIAL_PASSWORD",
            "OMNIROUTE_CONNECT_TIMEOUT",
        ],
        "",
    )
    assert load_settings(env) == Settings()


def test_overrides_are_parsed() -> None:
    env = {
        "OMNIROUTE_ENV": " Production ",
        "OMNIROUTE_LOG_LEVEL": "debug",
        "DATABASE_URL": "postgres://app@db.internal:6543/omni",
        "REDIS_URL": "rediss://cache.internal:6380/2",
        "OMNIROUTE_DATA_DIR": "/var/lib/omniroute",
        "OMNIROUTE_HOST": "0.0.0.0",
        "OMNIROUTE_EDGE_PORT": "1",
        "OMNIROUTE_CONTROL_PORT": "65535",
        "OMNIROUTE_EDGE_WORKERS": "8",
        "REQUIRE_API_KEY": "off",
        "OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS": " YES ",
        "OMNIROUTE_CONNECT_TIMEOUT": "2.5",
        "OMNIROUTE_REQUEST_TIMEOUT": "30",
        "OMNIROUTE_USAGE_BATCH_SIZE": "10000",
        **SECRETS,
    }
    settings = load_settings(env)
    assert settings.environment == "production"
    assert settings.environment == "production"
    assert settings.log_level == "DEBUG"
    assert settings.database_url == "postgres://app@db.internal:6543/omni"
    assert settings.redis_url == "rediss://cache.internal:6380/2"
    assert settings.data_dir == Path("/var/lib/omniroute")
    assert settings.host == "0.0.0.0"
    assert (settings.edge_port, settings.control_port) == (1, 65535)
    assert settings.edge_workers == 8
    assert settings.require_api_key is False
    assert settings.allow_private_upstreams is True
    assert settings.timeouts.connect == 2.5
    assert settings.timeouts.total == 30.0
    assert settings.usage_batch_size == 10000
    assert settings.storage_encryption_key == STORAGE_KEY
    assert settings.jwt_secret == JWT
    assert settings.initial_password == PASSWORD


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "yes", "on", " On "])
def test_true_spellings(raw: str) -> None:
    assert load_settings({"OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS": raw}).allow_private_upstreams is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", "off"])
def test_false_spellings(raw: str) -> None:
    assert load_settings({"REQUIRE_API_KEY": raw}).require_api_key is False


@pytest.mark.parametrize(
    "url",
    ["postgresql://u@h/db", "postgres://h:5432/db", "postgresql:///omniroute", "postgresql://[::1]:5432/db"],
)
def test_valid_database_urls(url: str) -> None:
    assert load_settings({"DATABASE_URL": url}).database_url == url


@pytest.mark.parametrize("url", ["redis://h:6379/0", "rediss://h", "unix:///run/redis.sock"])
def test_valid_redis_urls(url: str) -> None:
    assert load_settings({"REDIS_URL": url}).redis_url == url


BAD_VALUES = [
    ("REQUIRE_API_KEY", "maybe"),
    ("REQUIRE_API_KEY", "2"),
    ("OMNIROUTE_ALLOW_PRIVATE_UPSTREAMS", "enabled"),
    ("OMNIROUTE_EDGE_PORT", "abc"),
    ("OMNIROUTE_EDGE_PORT", "80.5"),
    ("OMNIROUTE_EDGE_PORT", "0"),
    ("OMNIROUTE_EDGE_PORT", "65536"),
    ("OMNIROUTE_EDGE_PORT", "-1"),
    ("OMNIROUTE_CONTROL_PORT", "70000"),
    ("OMNIROUTE_WORKER_PORT", "0"),
    ("OMNIROUTE_FAKE_UPSTREAM_PORT", "99999"),
    ("OMNIROUTE_EDGE_WORKERS", "0"),
    ("OMNIROUTE_EDGE_WORKERS", "257"),
    ("OMNIROUTE_CONTROL_WORKERS", "many"),
    ("OMNIROUTE_MAX_BODY_BYTES", "10"),
    ("OMNIROUTE_USAGE_FLUSH_MS", "0"),
    ("OMNIROUTE_USAGE_CLAIM_IDLE_MS", "1"),
    ("OMNIROUTE_SESSION_TTL_SECONDS", "5"),
    ("OMNIROUTE_CONNECT_TIMEOUT", "fast"),
    ("OMNIROUTE_CONNECT_TIMEOUT", "0"),
    ("OMNIROUTE_FIRST_BYTE_TIMEOUT", "100000"),
    ("OMNIROUTE_STREAM_IDLE_TIMEOUT", "-1"),
    ("OMNIROUTE_REQUEST_TIMEOUT", "nan"),
    ("OMNIROUTE_SNAPSHOT_POLL_SECONDS", "inf"),
    ("OMNIROUTE_SNAPSHOT_REPUBLISH_SECONDS", "0.01"),
    ("DATABASE_URL", "mysql://u:fake-db-password@h/db"),
    ("DATABASE_URL", "not a url"),
    ("DATABASE_URL", "postgresql://"),
    ("DATABASE_URL", "127.0.0.1:5432"),
    ("DATABASE_URL", "postgresql://u:fake-db-password@[::1/db"),
    ("DATABASE_URL", "postgresql://u:fake-db-password@[not-an-ip]/db"),
    ("REDIS_URL", "http://cache:6379"),
    ("REDIS_URL", "redis://"),
    ("REDIS_URL", "redis://:fake-redis-password@[::1"),
    ("STORAGE_ENCRYPTION_KEY", "fake-too-short-key"),
    ("STORAGE_ENCRYPTION_KEY", "x" * 31),
    ("JWT_SECRET", "fake-short-jwt"),
    ("INITIAL_PASSWORD", "fake7ch"),
    ("OMNIROUTE_ENV", "staging"),
    ("OMNIROUTE_ENV", "prod"),
    ("OMNIROUTE_LOG_LEVEL", "TRACE"),
    ("OMNIROUTE_LOG_LEVEL", "CRITICAL"),
    ("OMNIROUTE_LOG_LEVEL", "verbose"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_bad_value_raises_settings_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({name: value})
    assert name in str(info.value)


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_errors_never_echo_secrets(name: str, value: str) -> None:
    env = {**SECRETS, name: value}
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    message = str(info.value)
    for secret in (*SECRETS.values(), "fake-db-password", "fake-redis-password"):
        assert secret not in message
    if name in SECRET_VARIABLES:
        assert value not in message


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


@pytest.mark.parametrize("length", [32, 33, 100])
def test_secret_lengths_at_the_minimum_are_accepted(length: int) -> None:
    key = "k" * length
    settings = load_settings({"STORAGE_ENCRYPTION_KEY": key, "JWT_SECRET": key, "INITIAL_PASSWORD": "p" * 8})
    assert settings.storage_encryption_key == key
    assert settings.jwt_secret == key
    assert settings.initial_password == "p" * 8


@pytest.mark.parametrize("name", SECRET_VARIABLES)
def test_require_names_the_missing_secret(name: str) -> None:
    settings = load_settings({})
    with pytest.raises(SettingsError, match=name):
        settings.require(name)


def test_require_reports_the_first_missing_of_several() -> None:
    settings = load_settings({"STORAGE_ENCRYPTION_KEY": STORAGE_KEY})
    with pytest.raises(SettingsError) as info:
        settings.require("STORAGE_ENCRYPTION_KEY", "JWT_SECRET")
    assert "JWT_SECRET" in str(info.value)
    assert STORAGE_KEY not in str(info.value)


def test_require_passes_when_secrets_are_set() -> None:
    load_settings(SECRETS).require(*SECRET_VARIABLES)
    load_settings({}).require()


def test_require_unknown_name_is_treated_as_missing() -> None:
    with pytest.raises(SettingsError, match="SOMETHING_ELSE"):
        load_settings(SECRETS).require("SOMETHING_ELSE")


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.edge_port = 1  # type: ignore[misc]


def test_public_url_is_optional_and_validated() -> None:
    assert load_settings({}).public_url is None
    assert load_settings({"OMNIROUTE_PUBLIC_URL": ""}).public_url is None
    url = "https://ai.example.com/gateway"
    assert load_settings({"OMNIROUTE_PUBLIC_URL": url}).public_url == url
    for bad in ("ftp://ai.example.com", "ai.example.com", "http://[::1"):
        with pytest.raises(SettingsError, match="OMNIROUTE_PUBLIC_URL"):
            load_settings({"OMNIROUTE_PUBLIC_URL": bad})
