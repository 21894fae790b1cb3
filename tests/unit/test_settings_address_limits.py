"""The two limits by client address are settings, with their defaults, checked at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatroom.errors import SettingsError
from chatroom.settings import Settings


def test_the_address_limits_default_to_thirty_messages_a_second_and_a_thousand_connections(tmp_path: Path) -> None:
    settings = Settings.from_env({"SECRET_KEY": "k", "DATA_DIR": str(tmp_path)}, env_file=tmp_path / "none")
    assert (settings.rate_limit_per_address, settings.max_connections_per_address) == (30, 1000)


def test_the_address_limits_are_read_from_the_environment(tmp_path: Path) -> None:
    limits = {"RATE_LIMIT_PER_ADDRESS": "2.5", "MAX_CONNECTIONS_PER_ADDRESS": "5"}
    settings = Settings.from_env({"SECRET_KEY": "k", "DATA_DIR": str(tmp_path), **limits}, env_file=tmp_path / "none")
    assert (settings.rate_limit_per_address, settings.max_connections_per_address) == (2.5, 5)


@pytest.mark.parametrize(
    ("name", "value", "sentence"),
    [
        ("RATE_LIMIT_PER_ADDRESS", "lots", "RATE_LIMIT_PER_ADDRESS must be a number, not 'lots'"),
        ("RATE_LIMIT_PER_ADDRESS", "0", "RATE_LIMIT_PER_ADDRESS must be at least 0.001, not '0'"),
        ("MAX_CONNECTIONS_PER_ADDRESS", "0", "MAX_CONNECTIONS_PER_ADDRESS must be at least 1, not '0'"),
    ],
)
def test_a_bad_address_limit_names_its_variable(tmp_path: Path, name: str, value: str, sentence: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"SECRET_KEY": "k", "DATA_DIR": str(tmp_path), name: value}, env_file=tmp_path / "none")
    assert str(error.value) == sentence
