"""Private rooms and direct conversations in the SQL stores: who may know a room, and each person's list of them.

A private room is a row of `rooms` (its log, like any room's) and a row of `private_rooms`; its members are rows
of `room_members`. A direct conversation is a private room with a `pair` (its two account ids, sorted), unique,
so the first use from anywhere makes it once: a second, concurrent one finds the row the first wrote.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from typing import Any, ClassVar, TypeAlias

from chatroom.store import Conversation, Member, PrivateRoom, now_us

Row: TypeAlias = Sequence[Any]

MIGRATION = """
    CREATE TABLE private_rooms (
        name TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        pair TEXT UNIQUE,
        created_by TEXT NOT NULL,
        created_at {integer} NOT NULL
    );
    CREATE TABLE room_members (
        room TEXT NOT NULL,
        uid TEXT NOT NULL,
        added_at {integer} NOT NULL,
        PRIMARY KEY (room, uid)
    ){without_rowid};
    CREATE INDEX room_members_by_uid ON room_members (uid);
    CREATE INDEX public_rooms_by_last_message ON rooms (active_at) WHERE last_seq > 0 AND substr(name, 1, 1) <> '_';
    CREATE INDEX public_rooms_never_written ON rooms (created_at) WHERE last_seq = 0 AND substr(name, 1, 1) <> '_';
    """

# Each member's name is their account's now (a rename shows at once); ordered as the people of a room are.
_MEMBERS = (
    "SELECT m.uid, COALESCE(a.name, m.uid) FROM room_members AS m LEFT JOIN accounts AS a ON a.id = m.uid "
    "WHERE m.room = ? ORDER BY lower(COALESCE(a.name, m.uid)){binary}, m.uid"
)


@dataclass(frozen=True, slots=True)
class PrivateStatements:
    insert_private: str
    insert_room_row: str
    add_creator: str
    creator: str
    pair_room_row: str
    pair_member: str
    pair_name: str
    private_room: str
    members: str
    add_member: str
    remove_member: str
    conversations: str
    private_rooms: str
    restore_member: str


PRIVATE = PrivateStatements(
    insert_private=(
        "INSERT INTO private_rooms (name, title, pair, created_by, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING"
    ),
    insert_room_row="INSERT INTO rooms (name, created_at, active_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    add_creator=(
        "INSERT INTO room_members (room, uid, added_at) SELECT name, created_by, created_at FROM private_rooms "
        "WHERE name = ? AND created_by = ? AND created_at = ? ON CONFLICT DO NOTHING"
    ),
    creator="SELECT created_by, created_at FROM private_rooms WHERE name = ?",
    # Casts: PostgreSQL cannot tell a parameter's type from a select list.
    pair_room_row=(
        "INSERT INTO rooms (name, created_at, active_at) SELECT name, CAST(? AS {integer}), CAST(? AS {integer}) "
        "FROM private_rooms WHERE pair = ? ON CONFLICT DO NOTHING"
    ),
    pair_member=(
        "INSERT INTO room_members (room, uid, added_at) SELECT name, CAST(? AS TEXT), CAST(? AS {integer}) "
        "FROM private_rooms WHERE pair = ? ON CONFLICT DO NOTHING"
    ),
    pair_name="SELECT name FROM private_rooms WHERE pair = ?",
    private_room="SELECT title, pair, created_by FROM private_rooms WHERE name = ?",
    members=_MEMBERS,
    add_member=(
        "INSERT INTO room_members (room, uid, added_at) SELECT name, CAST(? AS TEXT), CAST(? AS {integer}) "
        "FROM private_rooms WHERE name = ? AND pair IS NULL ON CONFLICT DO NOTHING"
    ),
    remove_member="DELETE FROM room_members WHERE room = ? AND uid = ?",
    # Along the person's memberships (their index), each room's row by its key; a direct conversation is
    # called by the other member's name.
    conversations=(
        "SELECT p.name, p.title, p.pair, r.last_seq, r.active_at, "
        " (SELECT a.name FROM room_members AS o JOIN accounts AS a ON a.id = o.uid"
        "  WHERE o.room = p.name AND o.uid <> m.uid ORDER BY a.name LIMIT 1) "
        "FROM room_members AS m JOIN private_rooms AS p ON p.name = m.room JOIN rooms AS r ON r.name = m.room "
        "WHERE m.uid = ? ORDER BY r.active_at DESC, p.name LIMIT ?"
    ),
    private_rooms="SELECT name, title, pair FROM private_rooms WHERE name{binary} > ? ORDER BY name{binary} LIMIT ?",
    restore_member=(
        "INSERT INTO room_members (room, uid, added_at) SELECT name, CAST(? AS TEXT), CAST(? AS {integer}) "
        "FROM private_rooms WHERE name = ? ON CONFLICT DO NOTHING"
    ),
)


def private_statements(render: Callable[[str], str]) -> PrivateStatements:
    return PrivateStatements(*(render(template) for template in astuple(PRIVATE)))


class PrivateRoomsStore(ABC):
    """The store's private-room methods, over the four ways to run a statement that each store gives."""

    private_sql: ClassVar[PrivateStatements]

    @abstractmethod
    async def _read(self, sql: str, *args: Any) -> list[Row]: ...

    @abstractmethod
    async def _count(self, sql: str, *args: Any) -> int: ...

    @abstractmethod
    async def _write_batches(self, batches: Sequence[tuple[str, Sequence[tuple[Any, ...]]]]) -> None: ...

    async def create_private_room(self, name: str, title: str, creator: str, now: int) -> bool:
        sql = self.private_sql
        await self._write_batches(
            [
                (sql.insert_private, [(name, title, None, creator, now)]),
                (sql.insert_room_row, [(name, now, now)]),
                (sql.add_creator, [(name, creator, now)]),
            ]
        )
        rows = await self._read(sql.creator, name)
        return bool(rows) and (rows[0][0], int(rows[0][1])) == (creator, now)

    async def direct_room(self, pair: tuple[str, str], name: str, now: int) -> str:
        sql = self.private_sql
        key = " ".join(sorted(pair))
        await self._write_batches(
            [
                (sql.insert_private, [(name, "", key, pair[0], now)]),
                (sql.pair_room_row, [(now, now, key)]),
                (sql.pair_member, [(uid, now, key) for uid in sorted(set(pair))]),
            ]
        )
        rows = await self._read(sql.pair_name, key)
        return str(rows[0][0]) if rows else ""  # "" only when `name` was another room's: the caller picks anew

    async def private_room(self, name: str) -> PrivateRoom | None:
        rows = await self._read(self.private_sql.private_room, name)
        if not rows:
            return None
        members = tuple(Member(uid, member) for uid, member in await self._read(self.private_sql.members, name))
        return PrivateRoom(name, rows[0][0], rows[0][1], members, rows[0][2])

    async def add_member(self, room: str, uid: str, now: int) -> bool:
        return await self._count(self.private_sql.add_member, uid, now, room) > 0

    async def remove_member(self, room: str, uid: str) -> bool:
        return await self._count(self.private_sql.remove_member, room, uid) > 0

    async def conversations(self, uid: str, limit: int) -> list[Conversation]:
        rows = await self._read(self.private_sql.conversations, uid, limit)
        return [
            Conversation(name, (other or "someone") if pair is not None else title, pair is not None, int(seq), int(at))
            for name, title, pair, seq, at, other in rows
        ]

    async def private_rooms(self, after: str, limit: int) -> list[PrivateRoom]:
        rooms = []
        for name, _, _ in await self._read(self.private_sql.private_rooms, after, limit):
            room = await self.private_room(name)
            if room is not None:
                rooms.append(room)
        return rooms

    async def restore_private_rooms(self, rooms: list[PrivateRoom]) -> None:
        now = now_us()
        sql = self.private_sql
        made = [(r.name, r.title, r.pair, r.created_by or (r.members[0].uid if r.members else ""), now) for r in rooms]
        await self._write_batches(
            [
                (sql.insert_private, made),
                (sql.insert_room_row, [(r.name, now, now) for r in rooms]),
                (sql.restore_member, [(m.uid, now, r.name) for r in rooms for m in r.members]),
            ]
        )
