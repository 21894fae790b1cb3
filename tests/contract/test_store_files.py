"""Messages' files, on every store: stored with their message in one transaction, read back with it, gone with it."""

from __future__ import annotations

import pytest

from chatroom.errors import StoreUnavailable
from chatroom.store import Attachment, MessageStore, NewFile
from chatroom.store.search import SearchQuery
from chatroom.store.sql import SQLStore, numbered

pytestmark = pytest.mark.anyio


def new_file(file_id: str, name: str = "a.png", data: bytes = b"\x89PNG bytes", image: bool = True) -> NewFile:
    size = (4, 3) if image else (0, 0)
    attachment = Attachment(file_id, name, "image/png" if image else "application/octet-stream", len(data), *size)
    return NewFile(attachment, data, b"thumb" if image else b"")


async def test_files_are_stored_with_their_message_and_read_back_in_order(store: MessageStore) -> None:
    await store.append("lobby", "alice", "uid-alice", "before")
    sent = await store.append(
        "lobby",
        "alice",
        "uid-alice",
        "two files",
        files=[new_file("f1", "b.png"), new_file("f2", "a.txt", b"t", image=False)],
    )
    await store.append("lobby", "alice", "uid-alice", "after")
    assert [f.id for f in sent.files] == ["f1", "f2"]
    for read in (
        await store.latest("lobby", 10),
        await store.after("lobby", 0, 10),
        await store.before("lobby", 4, 10),
    ):
        assert [m.files for m in read] == [(), sent.files, ()]
    assert sent.files[0].is_image and not sent.files[1].is_image
    assert await store.file("f1") == ("lobby", sent.files[0], b"\x89PNG bytes")
    assert await store.file("f1", thumbnail=True) == ("lobby", sent.files[0], b"thumb")
    assert await store.file("f2") == ("lobby", sent.files[1], b"t")
    assert await store.file("nope") is None


async def test_a_message_whose_files_cannot_be_stored_is_not_stored_either(store: MessageStore) -> None:
    await store.append("lobby", "alice", "uid-alice", "one", files=[new_file("same")])
    with pytest.raises(StoreUnavailable):
        await store.append("lobby", "alice", "uid-alice", "two", files=[new_file("other"), new_file("same")])
    assert [m.text for m in await store.latest("lobby", 10)] == ["one"]
    assert await store.last_seq("lobby") == 1 and await store.file("other") is None
    assert (await store.append("lobby", "alice", "uid-alice", "three")).seq == 2, "seq stays gapless"


async def test_deleting_a_message_deletes_its_files(store: MessageStore) -> None:
    await store.append("lobby", "alice", "uid-alice", "gone soon", files=[new_file("f1")])
    await store.append("lobby", "alice", "uid-alice", "kept", files=[new_file("f2")])
    deleted = await store.delete("lobby", 1)
    assert deleted is not None and deleted.files == ()
    assert await store.file("f1") is None and await store.file("f2") is not None
    [entry] = await store.log_after("lobby", 2, 10)
    assert entry.id == 1 and entry.deleted and entry.files == ()


async def test_a_change_entry_carries_its_messages_files(store: MessageStore) -> None:
    sent = await store.append("lobby", "alice", "uid-alice", "with a file", files=[new_file("f1")])
    edited = await store.edit("lobby", 1, "uid-alice", "edited, file kept")
    assert edited is not None and edited.files == sent.files
    assert [m.files for m in await store.log_after("lobby", 0, 10)] == [sent.files, sent.files]


async def test_a_message_row_removed_takes_its_files(store: MessageStore) -> None:
    await store.append("lobby", "alice", "uid-alice", "gone soon", files=[new_file("f1")])
    assert isinstance(store, SQLStore)
    sql = "DELETE FROM messages WHERE room = ? AND seq = ?"
    await store._write(sql if type(store).__name__ == "SQLiteStore" else numbered(sql), "lobby", 1)
    assert await store.file("f1") is None


async def test_search_results_carry_their_files_and_only_theirs(store: MessageStore) -> None:
    await store.append("lobby", "alice", "uid-alice", "report plain")
    sent = await store.append("lobby", "alice", "uid-alice", "report attached", files=[new_file("r1", "r.png")])
    await store.append("lobby", "alice", "uid-alice", "report again")
    found = await store.search(SearchQuery(("report",)), None, 20)
    assert [(f.message.text, f.message.files) for f in found] == [
        ("report again", ()),
        ("report attached", sent.files),
        ("report plain", ()),
    ]
