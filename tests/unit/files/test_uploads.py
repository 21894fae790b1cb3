"""POST /rooms/{room}/files: real images shown as thumbnails without their metadata, other files as downloads,
and every bad upload refused with a reason and nothing stored."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import MutableMapping
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from chatroom.identity import Person
from chatroom.rooms.access import Access
from chatroom.settings import Settings
from tests.addresses import at, behind_proxy
from tests.images import CAMERA, SVG_WITH_SCRIPT, photo, png, png_claiming
from tests.inprocess import hub_of, in_app
from tests.people import Session, page, session
from tests.unit.conftest import Join, MakeClient
from tests.wire import recv_chat

Files = list[tuple[str, tuple[str, bytes, str]]]


def upload(client: TestClient, who: Session, files: Files, text: str = "", **headers: str) -> Any:
    response = client.post(
        "/rooms/lobby/files",
        data={"message": text},
        files=files,
        headers={**who, **{name.replace("_", "-"): value for name, value in headers.items()}},
        follow_redirects=False,
    )
    client.cookies.clear()
    return response


def stored(client: TestClient, room: str = "lobby") -> list[Any]:
    return in_app(client, hub_of(client).store.latest, room, 50)


def test_a_photo_is_stored_drawn_again_without_its_metadata_upright_with_a_thumbnail(
    client: TestClient, alice: Session
) -> None:
    sent = upload(client, alice, [("file", ("holiday.jpg", photo(800, 400, orientation=6), "image/jpeg"))], "look")
    assert sent.status_code == 303 and sent.headers["location"] == "/rooms/lobby"
    html = page(client, "/", alice)
    link = re.search(r'<a class="image" href="(/files/[^"]+/holiday\.jpg)" title="holiday\.jpg \([\d.]+ KB\)">', html)
    thumb = re.search(
        r'<img src="(/files/thumbnails/[^"]+)" alt="holiday.jpg" loading="lazy" width="160" height="320">', html
    )
    assert link and thumb, html
    full = client.get(link.group(1), headers=alice)
    assert full.status_code == 200 and full.headers["content-type"] == "image/jpeg"
    assert full.headers["content-disposition"].startswith('inline; filename="holiday.jpg"')
    assert full.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in full.headers["content-security-policy"]
    image = Image.open(io.BytesIO(full.content))
    assert image.size == (400, 800), "turned upright by its EXIF orientation, before the EXIF went"
    assert dict(image.getexif()) == {} and CAMERA.encode() not in full.content and b"Exif" not in full.content
    small = client.get(thumb.group(1), headers=alice)
    assert small.status_code == 200 and Image.open(io.BytesIO(small.content)).size == (160, 320)
    assert CAMERA.encode() not in small.content


def test_other_people_see_the_files_live_and_json_clients_get_their_links(
    client: TestClient, join: Join, alice: Session, bob: Session
) -> None:
    at_bob = join(client, headers=bob)
    with client.websocket_connect("/ws/rooms/lobby/") as seed:
        seed.receive_json()
        upload(client, alice, [("file", ("notes.txt", b"plain words", "text/plain"))], "my **notes**")
        frame = recv_chat(at_bob)
        assert '<a class="download" href="/files/' in frame and "<bdi>notes.txt</bdi>" in frame
        assert "<strong>notes</strong>" in frame and '<span class="size">11 bytes</span>' in frame
        chat = seed.receive_json()
        assert chat["message"] == "my **notes**", "JSON clients get the raw text"
        assert chat["files"] == [
            {"name": "notes.txt", "size": 11, "type": "application/octet-stream", "url": chat["files"][0]["url"]}
        ]
        assert client.get(chat["files"][0]["url"]).content == b"plain words"


def test_an_svg_with_a_script_is_a_download_never_an_image(client: TestClient, alice: Session) -> None:
    upload(client, alice, [("file", ("evil.svg", SVG_WITH_SCRIPT, "image/svg+xml"))])
    html = page(client, "/", alice)
    assert "<img" not in html.split('id="messages"')[1]
    url = re.search(r'<a class="download" href="(/files/[^"]+)" download>', html)
    assert url
    served = client.get(url.group(1), headers=alice)
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"].startswith('attachment; filename="evil.svg"')
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
    assert served.content == SVG_WITH_SCRIPT
    file_id = url.group(1).split("/")[2]
    assert client.get(f"/files/thumbnails/{file_id}", headers=alice).status_code == 404


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("../../x", "x"),
        ("..\\..\\windows\\x.exe", "x.exe"),
        ("/etc/passwd", "passwd"),
        (".hidden", "hidden"),
        ("a\u202egpj.exe", "agpj.exe"),
        ("..", "file"),
        ("x" * 300 + ".png.txt", "x" * 116 + ".txt"),
    ],
)
def test_file_names_are_made_safe(client: TestClient, alice: Session, raw: str, name: str) -> None:
    upload(client, alice, [("file", (raw, b"data", "application/octet-stream"))])
    [message] = stored(client)
    assert message.files[0].name == name


def test_a_file_named_like_html_is_shown_as_text(client: TestClient, alice: Session) -> None:
    upload(client, alice, [("file", ("<img src=x onerror=alert(1)>.txt", b"data", "text/plain"))])
    html = page(client, "/", alice)
    assert "<img src=x" not in html and "<bdi>&lt;img src=x onerror=alert(1)&gt;.txt</bdi>" in html
    served = client.get(re.findall(r'class="download" href="([^"]+)"', html)[0], headers=alice)
    assert served.headers["content-disposition"] == (
        'attachment; filename="<img src=x onerror=alert(1)>.txt"; '
        "filename*=UTF-8''%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt"
    )


@pytest.mark.parametrize(
    ("files", "status", "sentence"),
    [
        ([("bomb.png", png_claiming(50_000, 50_000))], 422, "An image can have at most 24 million pixels."),
        ([("big.png", png_claiming(6_000, 5_000))], 422, "An image can have at most 24 million pixels."),
        ([("cut.png", png(64, 64)[:60])], 422, "This image is damaged or cut short"),
        ([("empty.txt", b"")], 422, "empty.txt is empty"),
        ([(f"f{n}.txt", b"x") for n in range(100)], 422, "A message can have at most 10 files; this one has 100."),
        ([(f"f{n}.txt", b"x") for n in range(101)], 422, "The upload could not be read"),
        ([("ok.png", png()), ("empty.txt", b"")], 422, "empty.txt is empty"),
    ],
)
def test_a_bad_upload_is_refused_with_the_reason_and_nothing_is_stored(
    client: TestClient, alice: Session, files: list[tuple[str, bytes]], status: int, sentence: str
) -> None:
    sent = upload(client, alice, [("file", (name, data, "application/octet-stream")) for name, data in files])
    assert sent.status_code == status and sentence in sent.text
    refused = upload(client, alice, [("file", (n, d, "image/png")) for n, d in files], HX_Request="true")
    assert refused.status_code == status and refused.text.startswith('<div id="errors"') and sentence in refused.text
    assert stored(client) == []


def test_an_upload_over_the_limit_is_refused_with_413(make_client: MakeClient) -> None:
    client = make_client(max_upload_bytes=10_000)
    alice = session(client, "alice")
    sent = upload(client, alice, [("file", ("a.bin", b"x" * 6_000, "x/y")), ("file", ("b.bin", b"x" * 6_000, "x/y"))])
    assert sent.status_code == 413 and "An upload can be at most 10,000 bytes in all." in sent.text
    head = client.post(
        "/rooms/lobby/files",
        content=b"x" * 100,
        headers={**alice, "content-length": "99999999", "content-type": "multipart/form-data; boundary=b"},
    )
    assert head.status_code == 413, "refused from its Content-Length, before reading"
    assert stored(client) == []


def test_a_body_longer_than_the_limit_is_cut_off_as_it_arrives(make_client: MakeClient) -> None:
    client = make_client(max_upload_bytes=10_000)
    alice = session(client, "alice")
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n' + b"x" * 200_000

    def chunks() -> Any:
        yield from (body[i : i + 4096] for i in range(0, len(body), 4096))

    sent = client.post(
        "/rooms/lobby/files", content=chunks(), headers={**alice, "content-type": "multipart/form-data; boundary=b"}
    )
    assert sent.status_code == 413 and stored(client) == []


def test_an_upload_cut_off_midway_stores_nothing(client: TestClient, alice: Session) -> None:
    app = client.app
    boundary = b"cut"
    head = b'--cut\r\nContent-Disposition: form-data; name="file"; filename="half.png"\r\n\r\n' + png()[:40]
    received: list[dict[str, Any]] = [
        {"type": "http.request", "body": head, "more_body": True},
        {"type": "http.disconnect"},
    ]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/rooms/lobby/files",
        "raw_path": b"/rooms/lobby/files",
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "http_version": "1.1",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"multipart/form-data; boundary=" + boundary),
            (b"content-length", b"100000"),
            *[(k.encode(), v.encode()) for k, v in alice.items()],
        ],
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return received.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def call() -> None:
        with contextlib.suppress(Exception):  # the client left: whatever the server answers, nothing is stored
            await app(scope, receive, send)

    in_app(client, call)
    assert stored(client) == [] and received == [], "the whole body was read, then the client was gone"


def test_an_htmx_upload_gets_a_fresh_form_for_its_page(client: TestClient, alice: Session) -> None:
    files: Files = [("file", ("a.png", png(), "image/png"))]
    answer = upload(
        client, alice, files, "with a file", HX_Request="true", HX_Current_URL="http://testserver/rooms/lobby"
    )
    assert answer.status_code == 200 and answer.text.startswith('<form id="send-form"') and "hx-ws:send" in answer.text
    assert '<div id="errors" class="errors" role="alert" hx-swap-oob="true"></div>' in answer.text
    sse = upload(client, alice, files, HX_Request="true", HX_Current_URL="http://testserver/rooms/lobby?transport=sse")
    assert 'hx-post="/rooms/lobby/messages"' in sse.text
    assert [len(m.files) for m in stored(client)] == [1, 1]


def test_the_send_form_has_a_file_input_that_posts_multipart_without_javascript(client: TestClient) -> None:
    html = client.get("/").text
    assert '<input type="file" name="file" multiple>' in html
    assert 'formaction="/rooms/lobby/files" formenctype="multipart/form-data" formnovalidate' in html
    assert 'hx-post="/rooms/lobby/files" hx-encoding="multipart/form-data"' in html


def test_an_upload_from_another_site_or_without_a_session_is_refused(client: TestClient, alice: Session) -> None:
    files: Files = [("file", ("a.txt", b"x", "text/plain"))]
    assert upload(client, alice, files, origin="https://evil.example").status_code == 403
    assert upload(client, {}, files).status_code == 403
    assert stored(client) == []


def test_files_are_served_only_to_those_who_may_read_the_room(
    client: TestClient, alice: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload(client, alice, [("file", ("a.png", png(), "image/png"))])
    [message] = stored(client)
    file = message.files[0]

    async def nobody(access: Access, person: Person | None, room: str) -> bool:
        return False

    monkeypatch.setattr(Access, "can_read", nobody)
    for url in (f"/files/{file.id}/a.png", f"/files/thumbnails/{file.id}"):
        refused = client.get(url, headers=alice)
        assert refused.status_code == 404 and refused.content != png()
    assert client.get("/files/no-such-id/a.png", headers=alice).status_code == 404


def test_uploads_are_limited_per_person_then_per_address(settings: Settings) -> None:
    with behind_proxy(settings, rate_limit_burst=1000, rate_limit_per_address=1000) as (client, _):
        files: Files = [("file", ("a.txt", b"x", "text/plain"))]
        alice = session(client, "alice")
        by_alice = [upload(client, alice, files, **at("203.0.113.1")).status_code for _ in range(11)]
        assert by_alice == [303] * 10 + [429]
        others = [upload(client, session(client, f"p{n}"), files, **at("203.0.113.1")).status_code for n in range(21)]
        assert others == [303] * 20 + [429], "alice's ten came from the same address"
        assert upload(client, session(client, "carol"), files, **at("198.51.100.2")).status_code == 303


def test_an_upload_sent_twice_from_one_form_is_stored_once(client: TestClient, alice: Session) -> None:
    files: Files = [("file", ("a.png", png(), "image/png"))]
    for _ in range(2):
        sent = client.post(
            "/rooms/lobby/files",
            data={"message": "once", "nonce": "form-1"},
            files=files,
            headers=alice,
            follow_redirects=False,
        )
        assert sent.status_code == 303
    client.cookies.clear()
    assert [(m.text, len(m.files)) for m in stored(client)] == [("once", 1)]
