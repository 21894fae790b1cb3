"""A file's name: made safe to show and to offer back, and its size said as people read it."""

from __future__ import annotations

import pytest

from chatroom.files.names import content_disposition, human_size, safe_name


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\photo.jpg", "photo.jpg"),
        ("tab\there\n.txt", "tabhere.txt"),
        ("zero\u200bwidth\u2066.txt", "zerowidth.txt"),
        ("  . spaced .txt  ", "spaced .txt"),
        ("e\u0301te\u0301.txt", "été.txt"),
        ("", "file"),
        ("/", "file"),
        ("x" * 200, "x" * 120),
        ("y" * 200 + ".tar.gz", "y" * 117 + ".gz"),
    ],
)
def test_safe_name(raw: str, name: str) -> None:
    assert safe_name(raw) == name


def test_a_download_name_has_an_ascii_form_and_the_exact_one() -> None:
    assert content_disposition("attachment", 'naïve "quote";.txt') == (
        "attachment; filename=\"na_ve _quote__.txt\"; filename*=UTF-8''na%C3%AFve%20%22quote%22%3B.txt"
    )


@pytest.mark.parametrize(
    ("size", "said"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (999, "999 bytes"),
        (1000, "1.0 KB"),
        (123_456, "123.5 KB"),
        (999_999, "1.0 MB"),
        (10 * 2**20, "10.5 MB"),
    ],
)
def test_human_size(size: int, said: str) -> None:
    assert human_size(size) == said
