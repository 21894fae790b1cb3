"""`python -m chatroom user add NAME --role admin`, password on standard input."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from chatroom.accounts import cli
from chatroom.settings import Settings
from tests.people import PASSWORD, page, sign_in
from tests.unit.conftest import MakeClient


def test_the_console_makes_an_administrator_who_signs_in(
    settings: Settings, make_client: MakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["add", "Root", "--role", "admin"], io.StringIO(f"{PASSWORD}\n"), settings) == 0
    assert "made admin Root" in capsys.readouterr().out
    client: TestClient = make_client()
    root = sign_in(client, "root")
    assert "<bdi>Root</bdi>" in page(client, "/admin", root)


@pytest.mark.parametrize(
    ("argv", "password", "said"),
    [
        (["add", "Root"], "short\n", "at least 8"),
        (["add", "guest-1"], f"{PASSWORD}\n", "given to guests"),
        (["add", "Root"], "", "at least 8"),
    ],
)
def test_the_console_refuses_what_the_pages_refuse(
    settings: Settings, capsys: pytest.CaptureFixture[str], argv: list[str], password: str, said: str
) -> None:
    assert cli.main(argv, io.StringIO(password), settings) == 1
    assert said in capsys.readouterr().err


def test_a_taken_name_is_refused_at_the_console_too(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["add", "Root"], io.StringIO(f"{PASSWORD}\n"), settings) == 0
    assert cli.main(["add", "ROOT"], io.StringIO(f"{PASSWORD}\n"), replace(settings)) == 1
    assert "taken" in capsys.readouterr().err


def test_an_unknown_role_is_refused(settings: Settings) -> None:
    with pytest.raises(SystemExit):
        cli.main(["add", "Root", "--role", "owner"], io.StringIO(f"{PASSWORD}\n"), settings)
