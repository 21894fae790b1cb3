"""Configuration from the environment and .env, validated once with clear errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chatroom.errors import SettingsError
from chatroom.settings import Settings


def test_defaults_are_the_embedded_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({}, argv=["chatroom"])
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.database_url == "sqlite:///data/chat.sqlite3"
    assert settings.broadcast_url == "memory://"
    assert (settings.history_limit, settings.max_message_length) == (50, 2000)
    assert (settings.rate_limit_per_second, settings.rate_limit_burst) == (5.0, 10)
    assert settings.allowed_origins == ()


def test_the_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = Settings.from_env({"DATA_DIR": str(tmp_path)})
    second = Settings.from_env({"DATA_DIR": str(tmp_path)})
    assert len(first.secret_key) >= 40 and first.secret_key == second.secret_key
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert Settings.from_env({"DATA_DIR": str(tmp_path), "SECRET_KEY": "given"}).secret_key == "given"


def test_redis_url_or_broadcast_url_choose_the_bus(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}
    assert Settings.from_env({**env, "REDIS_URL": "redis://h:6379"}).broadcast_url == "redis://h:6379"
    both = {**env, "REDIS_URL": "redis://h", "BROADCAST_URL": "postgres://db/x"}
    assert Settings.from_env(both).broadcast_url == "postgres://db/x"


def test_on_heroku_a_tls_redis_url_skips_verifying_the_self_signed_certificate(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}
    heroku = {**env, "DYNO": "web.1"}
    assert Settings.from_env({**heroku, "REDIS_URL": "rediss://:p@h:6379"}).broadcast_url == (
        "rediss://:p@h:6379?ssl_cert_reqs=none"
    )
    assert Settings.from_env({**heroku, "REDIS_URL": "rediss://h/0?x=1"}).broadcast_url.endswith(
        "?x=1&ssl_cert_reqs=none"
    )
    chosen = "rediss://h/0?ssl_cert_reqs=required"
    assert Settings.from_env({**heroku, "REDIS_URL": chosen}).broadcast_url == chosen, "the URL's own choice stands"
    assert Settings.from_env({**heroku, "REDIS_URL": "redis://h"}).broadcast_url == "redis://h", (
        "no TLS, nothing to add"
    )
    assert Settings.from_env({**env, "REDIS_URL": "rediss://h"}).broadcast_url == "rediss://h", "elsewhere: verified"
    explicit = {**heroku, "REDIS_URL": "rediss://h", "BROADCAST_URL": "rediss://other"}
    assert Settings.from_env(explicit).broadcast_url == "rediss://other", "BROADCAST_URL is taken as it is"


def test_a_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HISTORY_LIMIT=7\nPORT=9000\nSECRET_KEY=from-file\n")
    settings = Settings.from_env({"PORT": "9100", "DATA_DIR": str(tmp_path)}, env_file=tmp_path / ".env")
    assert (settings.history_limit, settings.port, settings.secret_key) == (7, 9100, "from-file")


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PORT", "eighty", "PORT must be a number"),
        ("HISTORY_LIMIT", "0", "HISTORY_LIMIT must be at least 1"),
        ("MAX_MESSAGE_LENGTH", "-5", "MAX_MESSAGE_LENGTH must be at least 1"),
        ("RATE_LIMIT_PER_SECOND", "fast", "RATE_LIMIT_PER_SECOND must be a number"),
        ("DATABASE_URL", "mysql://db", "DATABASE_URL must start with one of"),
        ("REDIS_URL", "http://cache", "BROADCAST_URL must start with one of"),
        ("ALLOWED_ORIGINS", "chat.example.com", "ALLOWED_ORIGINS entries look like"),
        ("ALLOWED_ORIGINS", "https://ok.example,https://x.example/path", "ALLOWED_ORIGINS entries look like"),
    ],
)
def test_a_bad_value_gets_a_clear_error(tmp_path: Path, name: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        Settings.from_env({name: value, "DATA_DIR": str(tmp_path), "SECRET_KEY": "k"})


def test_allowed_origins_are_normalised(tmp_path: Path) -> None:
    env = {"ALLOWED_ORIGINS": " https://A.example , http://b.example:8080/ ", "SECRET_KEY": "k"}
    assert Settings.from_env(env).allowed_origins == ("https://a.example", "http://b.example:8080")


def test_workers_come_from_web_concurrency_or_the_flag() -> None:
    env = {"SECRET_KEY": "k"}
    assert Settings.from_env({**env, "WEB_CONCURRENCY": "3"}, argv=["uvicorn"]).workers == 3
    assert Settings.from_env(env, argv=["uvicorn", "chatroom.app:app", "--workers", "4"]).workers == 4
    assert Settings.from_env(env, argv=["uvicorn", "chatroom.app:app"]).workers == 1


def test_several_workers_on_the_memory_bus_get_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from starlette.testclient import TestClient

    from chatroom.app import create_app

    settings = Settings.from_env({"DATA_DIR": str(tmp_path), "WEB_CONCURRENCY": "2"}, argv=["uvicorn"])
    with caplog.at_level("WARNING", logger="chatroom"), TestClient(create_app(settings)):
        pass
    assert "rooms are split" in caplog.text and "REDIS_URL" in caplog.text


def test_a_port_beyond_the_last_one_is_refused(tmp_path: Path) -> None:
    assert Settings.from_env({"DATA_DIR": str(tmp_path), "PORT": "65535"}).port == 65535
    with pytest.raises(SettingsError, match="PORT must be at most 65535, not '99999'"):
        Settings.from_env({"DATA_DIR": str(tmp_path), "PORT": "99999"})
