"""GET /search: a search box on every page, results with every word, newest first, from rooms the viewer may read."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from chatroom.identity import Person
from chatroom.rooms.access import Access
from chatroom.settings import Settings
from tests.addresses import at, behind_proxy
from tests.inprocess import hub_of, in_app
from tests.people import Session, say, session

HTMX = {"HX-Request": "true"}
A, B = "203.0.113.1", "198.51.100.2"


def results(html: str) -> list[str]:
    """Each result's room and text, in page order."""
    found = re.findall(
        r'<a class="room-link" href="/rooms/([^"]+)">.*?<div class="text" dir="auto">(.*?)</div></li>', html
    )
    return [f"{room}: {text}" for room, text in found]


def test_every_page_has_a_search_box(client: TestClient) -> None:
    for url in ("/", "/rooms/dev", "/search", "/rooms/NOT-A-ROOM"):
        assert '<form class="search-box" role="search" method="get" action="/search">' in client.get(url).text


def test_results_have_every_word_newest_first_with_room_author_time_and_permalink(
    client: TestClient, alice: Session
) -> None:
    say(client, "the **deploy** is done", who=alice)
    say(client, "deploy again :tada:", room="dev", who=alice)
    say(client, "nothing to see", who=alice)
    page = client.get("/search", params={"q": "deploy"})
    assert page.status_code == 200
    assert results(page.text) == ["dev: <p>deploy again 🎉</p>", "lobby: <p>the <strong>deploy</strong> is done</p>"]
    assert '<bdi class="author">alice</bdi>' in page.text
    assert '<a class="permalink" href="/rooms/dev?around=1#msg-1"' in page.text
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z">', page.text)
    assert results(client.get("/search", params={"q": "deploy done"}).text) == [
        "lobby: <p>the <strong>deploy</strong> is done</p>"
    ]


def test_an_htmx_search_gets_the_results_alone(client: TestClient) -> None:
    say(client, "fragment words")
    fragment = client.get("/search", params={"q": "fragment"}, headers=HTMX)
    assert fragment.text.startswith('<section id="search-results"') and "<html" not in fragment.text
    assert results(fragment.text) == ["lobby: <p>fragment words</p>"]


def test_room_and_from_filters(client: TestClient, alice: Session, bob: Session) -> None:
    say(client, "ship it", who=alice)
    say(client, "ship it", room="dev", who=bob)
    say(client, "ship it", room="dev", who=alice)
    assert len(results(client.get("/search", params={"q": "ship room:dev"}).text)) == 2
    assert len(results(client.get("/search", params={"q": "ship", "room": "dev"}).text)) == 2
    assert results(client.get("/search", params={"q": "ship from:bob"}).text) == ["dev: <p>ship it</p>"]
    assert results(client.get("/search", params={"q": "from:alice room:dev ship"}).text) == ["dev: <p>ship it</p>"]


def test_results_come_in_pages(client: TestClient) -> None:
    for n in range(25):
        in_app(client, hub_of(client).store.append, "lobby", "alice", "uid-alice", f"paged {n}")
    first = client.get("/search", params={"q": "paged"}).text
    assert len(results(first)) == 20 and results(first)[0] == "lobby: <p>paged 24</p>"
    older = re.search(r'<a href="(/search\?[^"]+)">Older results</a>', first)
    assert older is not None
    second = client.get(older.group(1).replace("&amp;", "&")).text
    assert results(second) == [f"lobby: <p>paged {n}</p>" for n in range(4, -1, -1)]
    assert "Older results" not in second


def test_results_only_come_from_rooms_the_viewer_may_read(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    say(client, "shared words")
    say(client, "shared words", room="secret")

    async def only_public(access: Access, person: Person | None, room: str) -> bool:
        return room != "secret"

    monkeypatch.setattr(Access, "can_read", only_public)
    assert results(client.get("/search", params={"q": "shared"}).text) == ["lobby: <p>shared words</p>"]


@pytest.mark.parametrize(
    ("q", "sentence"),
    [
        ("x" * 10_000, "A search can be at most 200 characters; this one has 10000."),
        (" ".join(f"w{n}" for n in range(11)), "A search can have at most 10 words; this one has 11."),
        ("words room:NOT/a/room", "A room name is 1 to 50 characters"),
        ("words from:" + "n" * 40, "A name is at most 32 characters."),
    ],
)
def test_a_bad_search_gets_422_and_the_reason(client: TestClient, q: str, sentence: str) -> None:
    page = client.get("/search", params={"q": q})
    assert page.status_code == 422 and sentence in page.text
    fragment = client.get("/search", params={"q": q}, headers=HTMX)
    assert fragment.status_code == 422 and sentence in fragment.text


@pytest.mark.parametrize(
    "q", ['"', "*", "NEAR(a b)", "-x", "a OR b", '"unclosed', "col:umn", "^x", "a AND NOT b", "((", "%_"]
)
def test_search_syntax_is_text_never_an_error(client: TestClient, q: str) -> None:
    say(client, "a b x umn")
    assert client.get("/search", params={"q": q}).status_code == 200


def test_no_words_shows_how_to_search(client: TestClient) -> None:
    for q in ("", "   ", "room:dev", "- * ("):
        page = client.get("/search", params={"q": q})
        assert page.status_code == 200 and "Type words to find the messages" in page.text


def test_searches_are_limited_per_person_then_per_address_whatever_the_cookies(settings: Settings) -> None:
    with behind_proxy(settings) as (client, clock):
        alice = session(client, "alice")
        by_alice = [client.get("/search?q=x", headers={**alice, **at(A)}).status_code for _ in range(6)]
        assert by_alice == [200] * 5 + [429]
        client.cookies.clear()
        cookieless = []
        for _ in range(16):
            cookieless.append(client.get("/search?q=x", headers=at(A)).status_code)
            client.cookies.clear()
        assert cookieless == [200] * 15 + [429], "alice's five came from the same address"
        assert client.get("/search?q=x", headers=at(B)).status_code == 200
        clock.now += 1
        assert client.get("/search?q=x", headers={**alice, **at(A)}).status_code == 200
