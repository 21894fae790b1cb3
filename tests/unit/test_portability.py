"""Export and import as JSON Lines: messages move with their seq, twice adds nothing, a bad file writes nothing."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from chatroom.accounts.records import Account
from chatroom.errors import CommandError
from chatroom.names import key
from chatroom.portability import FORMAT, Counts, export, import_file
from chatroom.store import Message, MessageStore, open_store
from chatroom.version import VERSION

pytestmark = pytest.mark.anyio


async def opened(path: Path) -> MessageStore:
    store = open_store(f"sqlite:///{path}")
    await store.open()
    return store


@pytest.fixture
async def source(tmp_path: Path) -> AsyncIterator[MessageStore]:
    """#lobby's log: three messages (one with a newline, markup and an emoji), an edit of the first, a
    deletion of the second and two reactions to the third (seq 4 to 7); #dev with a message; an empty room."""
    store = await opened(tmp_path / "source.sqlite3")
    for text in ("hello", "<b>bold</b>\nsecond line 👋", "third"):
        await store.append("lobby", "ada", "uid-ada", text)
    await store.edit("lobby", 1, "uid-ada", "hello, edited")
    await store.delete("lobby", 2)
    await store.react("lobby", 3, "uid-bob", "👍", 10)
    await store.react("lobby", 3, "uid-eve", "👍", 10)
    await store.append("dev", "Zoë", "uid-zoe", "in dev")
    await store.create_room("quiet")
    yield store
    await store.close()


@pytest.fixture
async def target(tmp_path: Path) -> AsyncIterator[MessageStore]:
    store = await opened(tmp_path / "target.sqlite3")
    yield store
    await store.close()


async def exported(store: MessageStore, path: Path, room: str | None = None) -> Counts:
    with path.open("w") as out:
        return await export(store, out, room)


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_text().splitlines()]


async def everything(store: MessageStore) -> list[Message]:
    """Every room's whole log: messages as they are now (with their reactions) and the changes."""
    return [m for room in ("dev", "lobby", "quiet") for m in await store.log_after(room, 0, 100)]


async def test_an_export_is_a_header_then_rooms_then_each_rooms_log(source: MessageStore, tmp_path: Path) -> None:
    counts = await exported(source, tmp_path / "out.jsonl")
    records = lines(tmp_path / "out.jsonl")
    assert records[0]["kind"] == "chatroom-export"
    assert (records[0]["format"], records[0]["version"]) == (FORMAT, VERSION)
    assert [r["name"] for r in records[1:4]] == ["dev", "lobby", "quiet"]
    assert records[4] == {
        "kind": "message",
        "room": "dev",
        "seq": 1,
        "author": "Zoë",
        "author_id": "uid-zoe",
        "text": "in dev",
        "sent_at": records[4]["sent_at"],
        "edited": False,
        "deleted": False,
    }
    lobby = [
        (r["kind"], r.get("seq", r.get("message")), r.get("text", r.get("change", r.get("uid")))) for r in records[5:]
    ]
    assert lobby == [
        ("message", 1, "hello, edited"),
        ("message", 2, ""),
        ("message", 3, "third"),
        ("reaction", 3, "uid-bob"),
        ("reaction", 3, "uid-eve"),
        ("change", 4, "edit"),
        ("change", 5, "delete"),
        ("change", 6, "reactions"),
        ("change", 7, "reactions"),
    ]
    assert (records[5]["edited"], records[6]["deleted"]) == (True, True)
    assert "bold" not in (tmp_path / "out.jsonl").read_text(), "a deleted text is gone from exports too"
    assert (counts.rooms, counts.messages, counts.changes, counts.reactions) == (3, 4, 4, 2)


async def test_an_export_of_one_room_has_only_that_room(source: MessageStore, tmp_path: Path) -> None:
    await exported(source, tmp_path / "out.jsonl", room="dev")
    assert {(r["kind"], r.get("room", r.get("name"))) for r in lines(tmp_path / "out.jsonl")[1:]} == {
        ("room", "dev"),
        ("message", "dev"),
    }


async def test_an_export_of_a_room_that_does_not_exist_says_so(source: MessageStore, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no room 'nowhere'"):
        await exported(source, tmp_path / "out.jsonl", room="nowhere")


async def test_an_import_keeps_every_message_and_seq(
    source: MessageStore, target: MessageStore, tmp_path: Path
) -> None:
    await exported(source, tmp_path / "out.jsonl")
    counts = await import_file(target, tmp_path / "out.jsonl")
    assert (counts.rooms, counts.messages, counts.changes, counts.reactions, counts.skipped) == (3, 4, 4, 2, 0)
    assert await everything(target) == await everything(source)
    assert [(r.name, r.last_seq) for r in await target.room_records("", 10)] == [
        ("dev", 1),
        ("lobby", 7),
        ("quiet", 0),
    ]
    assert (await target.append("lobby", "bob", "uid-bob", "next")).seq == 8, "new messages follow on"


async def test_importing_twice_adds_nothing(source: MessageStore, target: MessageStore, tmp_path: Path) -> None:
    await exported(source, tmp_path / "out.jsonl")
    await import_file(target, tmp_path / "out.jsonl")
    again = await import_file(target, tmp_path / "out.jsonl")
    assert (again.messages, again.changes, again.skipped) == (0, 0, 8)
    assert await everything(target) == await everything(source)


async def test_a_later_export_adds_only_what_is_new(source: MessageStore, target: MessageStore, tmp_path: Path) -> None:
    await exported(source, tmp_path / "first.jsonl")
    await import_file(target, tmp_path / "first.jsonl")
    await source.append("lobby", "ada", "uid-ada", "fourth")
    await source.react("lobby", 8, "uid-bob", "🎉", 10)
    await exported(source, tmp_path / "second.jsonl")
    counts = await import_file(target, tmp_path / "second.jsonl")
    assert (counts.messages, counts.changes, counts.skipped) == (1, 1, 8)
    assert await everything(target) == await everything(source)


async def test_a_different_message_under_a_taken_seq_stops_the_import_before_it_writes(
    source: MessageStore, target: MessageStore, tmp_path: Path
) -> None:
    await target.append("lobby", "eve", "uid-eve", "already here")
    await exported(source, tmp_path / "out.jsonl")
    with pytest.raises(
        CommandError,
        match=r"'lobby' already has a different entry 1 in this store \(a message by 'eve'.*nothing was imported",
    ):
        await import_file(target, tmp_path / "out.jsonl")
    assert [m.text for m in await target.after("lobby", 0, 10)] == ["already here"]
    assert await target.after("dev", 0, 10) == [], "not even the rooms before it"


HEADER = '{"kind": "chatroom-export", "format": 1, "version": "0.1.0", "exported_at": "2026-12-01T09:00:00.000000Z"}'
ROOM = (
    '{"kind": "room", "name": "lobby", "last_seq": 1, "created_at": "2026-12-01T09:00:00.000000Z", '
    '"active_at": "2026-12-01T09:00:00.000000Z"}'
)
MESSAGE = (
    '{"kind": "message", "room": "lobby", "seq": 1, "author": "ada", "author_id": "u", "text": "hi", '
    '"sent_at": "2026-12-01T09:00:00.000000Z"}'
)

CHANGE = '{"kind": "change", "room": "lobby", "seq": 2, "message": 1, "change": "edit"}'
REACTION = '{"kind": "reaction", "room": "lobby", "message": 1, "emoji": "👍", "uid": "u"}'
ACCOUNT = (
    '{"kind": "account", "id": "a0123456789abcdef", "name": "Ada", "role": "admin", "active": true, '
    '"created_at": "2026-12-01T09:00:00.000000Z"}'
)


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("", "is empty"),
        (f"{ROOM}\n{MESSAGE}", "line 1: not the header"),
        (HEADER.replace('"format": 1', '"format": 2') + f"\n{ROOM}", "export format 2"),
        (f"{HEADER}\nnot json", "line 2: not a JSON object"),
        (f"{HEADER}\n[1, 2]", "line 2: not a JSON object"),
        (f"{HEADER}\n{ROOM}\n" + MESSAGE.replace('"message"', '"poll"'), "line 3: records of kind 'poll'"),
        (f"{HEADER}\n{ROOM}\n{ACCOUNT}", "line 3: an account after the rooms"),
        (f"{HEADER}\n" + ACCOUNT.replace('"a0123456789abcdef"', '"root"'), "'id' is not an account's id"),
        (f"{HEADER}\n" + ACCOUNT.replace('"Ada"', '"guest-123456"'), "given to guests"),
        (f"{HEADER}\n" + ACCOUNT.replace('"admin"', '"owner"'), "'role' must be one of admin"),
        (f"{HEADER}\n{ROOM}\n" + MESSAGE.replace('"u",', '"u", "deleted": true,'), "a deleted message has no text"),
        (f"{HEADER}\n{ROOM}\n" + MESSAGE.replace('"u",', '"u", "edited": "yes",'), "'edited' must be true or false"),
        (
            f"{HEADER}\n{ROOM}\n{MESSAGE}\n" + CHANGE.replace('"edit"', '"rename"'),
            "'change' must be one of edit, delete",
        ),
        (f"{HEADER}\n{ROOM}\n{MESSAGE}\n" + CHANGE.replace('"message": 1', '"message": 2'), "2 is not before 2"),
        (f"{HEADER}\n{ROOM}\n{MESSAGE}\n{CHANGE}\n" + CHANGE.replace('"edit"', '"delete"'), "log is not in seq order"),
        (f"{HEADER}\n{ROOM}\n" + REACTION, "a reaction to message 1 before that message"),
        (f"{HEADER}\n{MESSAGE}", "line 2: an entry of room 'lobby' before that room's record"),
        (f"{HEADER}\n{ROOM}\n{MESSAGE}\n{MESSAGE}", "line 4: room 'lobby''s log is not in seq order"),
        (f"{HEADER}\n" + ROOM.replace('"lobby"', '"Lobby!"'), "'name' is not a valid room name"),
        (f"{HEADER}\n{ROOM}\n" + MESSAGE.replace('"seq": 1', '"seq": 0'), "'seq' must be a whole number of at least 1"),
        (f"{HEADER}\n{ROOM}\n" + MESSAGE.replace('"seq": 1', '"seq": true'), "'seq' must be a whole number"),
        (f"{HEADER}\n{ROOM}\n" + MESSAGE.replace('"hi"', '""'), "'text' must be a non-empty string"),
        (f"{HEADER}\n{ROOM}\n" + MESSAGE.replace('"u"', "null"), "'author_id' must be a non-empty string"),
        (f"{HEADER}\n{ROOM}\n" + MESSAGE.replace("09:00:00.000000Z", "yesterday"), "'sent_at' must be a UTC time"),
        (f"{HEADER}\n{ROOM}\n" + MESSAGE.replace('"hi"', '"' + "x" * (1 << 20) + '"'), "longer than 1048576 bytes"),
    ],
)
async def test_a_bad_file_is_refused_with_its_line_and_writes_nothing(
    target: MessageStore, tmp_path: Path, content: str, complaint: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content + "\n" + ROOM.replace("lobby", "zzz-last") if content else "")
    with pytest.raises(CommandError, match=complaint.replace("(", r"\(")):
        await import_file(target, path)
    assert await target.room_records("", 10) == []


async def test_a_missing_file_is_one_sentence(target: MessageStore, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"Cannot read .*nowhere\.jsonl: No such file"):
        await import_file(target, tmp_path / "nowhere.jsonl")


async def test_times_survive_to_the_microsecond(target: MessageStore, tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(f"{HEADER}\n{ROOM}\n" + MESSAGE.replace("09:00:00.000000Z", "09:00:00.999999Z") + "\n")
    await import_file(target, path)
    [message] = await target.after("lobby", 0, 10)
    assert message.sent_at == datetime(2026, 12, 1, 9, 0, 0, 999999, tzinfo=UTC)
    out = io.StringIO()
    await export(target, out)
    assert '"sent_at":"2026-12-01T09:00:00.999999Z"' in out.getvalue()


async def test_a_deleted_message_imports_without_its_text(target: MessageStore, tmp_path: Path) -> None:
    deleted = MESSAGE.replace('"hi"', '""').replace('"u",', '"u", "deleted": true,')
    path = tmp_path / "deleted.jsonl"
    path.write_text(f"{HEADER}\n{ROOM}\n{deleted}\n{CHANGE.replace('edit', 'delete')}\n")
    counts = await import_file(target, path)
    assert (counts.messages, counts.changes) == (1, 1)
    [message, change] = await target.log_after("lobby", 0, 10)
    assert (message.text, message.deleted, change.kind, change.target) == ("", True, "delete", 1)


async def test_accounts_move_without_their_passwords(
    source: MessageStore, target: MessageStore, tmp_path: Path
) -> None:
    ada = Account("a0123456789abcdef", "Ada", "admin", True, "$argon2id$secret-hash", 1_700_000_000_000_000)
    assert await source.create_account(ada, keys("Ada"))
    path = tmp_path / "export.jsonl"
    counts = await exported(source, path)
    assert counts.accounts == 1
    assert "argon2" not in path.read_text() and "secret-hash" not in path.read_text()
    assert (await import_file(target, path)).accounts == 1
    moved = await target.account("a0123456789abcdef")
    assert moved is not None and (moved.name, moved.role, moved.active, moved.password_hash) == (
        "Ada",
        "admin",
        True,
        "",
    )
    assert (await import_file(target, path)).accounts == 0  # twice adds nothing


async def test_an_account_whose_name_is_taken_here_stops_the_import(
    source: MessageStore, target: MessageStore, tmp_path: Path
) -> None:
    await source.create_account(Account("a0123456789abcdef", "Ada", "member"), keys("Ada"))
    await target.create_account(Account("a" + "f" * 16, "ADA", "member"), keys("ADA"))
    path = tmp_path / "export.jsonl"
    await exported(source, path)
    with pytest.raises(CommandError, match="has the name of another account here"):
        await import_file(target, path)
    assert await target.room_records("", 10) == []


def keys(name: str) -> tuple[str, str, str]:
    k = key(name)
    return k.folded, k.looks, k.looks_folded


async def test_private_rooms_move_with_their_members(target: MessageStore, tmp_path: Path) -> None:
    source = await opened(tmp_path / "private.sqlite3")
    alice, bob = "a" + "1" * 16, "a" + "2" * 16
    for id, name in ((alice, "Alice"), (bob, "Bob")):
        k = key(name)
        await source.create_account(Account(id, name, "member", True, "", 1), (k.folded, k.looks, k.looks_folded))
    await source.create_private_room("_0123456789abcdef", "plans", alice, 1)
    await source.add_member("_0123456789abcdef", bob, 2)
    direct = await source.direct_room((alice, bob), "_fedcba9876543210", 3)
    await source.append(direct, "Alice", alice, "psst")
    path = tmp_path / "export.jsonl"
    counts = await exported(source, path)
    await source.close()
    assert counts.private_rooms == 2
    records = [r for r in lines(path) if r["kind"] == "private_room"]
    assert {r["name"]: r["members"] for r in records} == {"_0123456789abcdef": [alice, bob], direct: [alice, bob]}
    kinds = [r["kind"] for r in lines(path)]
    assert kinds.index("private_room") > max(i for i, k in enumerate(kinds) if k == "room")
    assert kinds.index("message") > max(i for i, k in enumerate(kinds) if k == "private_room")
    imported = await import_file(target, path)
    assert imported.private_rooms == 2 and "private_rooms=2" in str(imported)
    plans = await target.private_room("_0123456789abcdef")
    assert plans is not None and plans.title == "plans" and [m.uid for m in plans.members] == [alice, bob]
    assert await target.direct_room((bob, alice), "_another", 4) == direct
    assert [m.text for m in await target.latest(direct, 10)] == ["psst"]
    assert [r.name for r in await target.rooms(50, "lobby")] == []


async def test_a_private_room_record_that_is_not_one_is_refused(target: MessageStore, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    header = {
        "kind": "chatroom-export",
        "format": FORMAT,
        "version": VERSION,
        "exported_at": "2026-12-01T09:00:00.000000Z",
    }
    room = {
        "kind": "room",
        "name": "lobby",
        "last_seq": 0,
        "created_at": header["exported_at"],
        "active_at": header["exported_at"],
    }
    bad: dict[str, object] = {"kind": "private_room", "name": "lobby", "title": "plans", "pair": None, "members": []}
    path.write_text("\n".join(orjson.dumps(r).decode() for r in (header, room, bad)) + "\n")
    with pytest.raises(CommandError, match="not a private room's name"):
        await import_file(target, path)
