"""The package keeps its map true and its door shut: what `chatroom/__init__.py` names exists, and the web and
transport layers reach the store and the bus only through the hub."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import chatroom

PACKAGE = Path(chatroom.__file__).parent
NAMED = re.compile(r"`(chatroom(?:\.\w+)+)`")
# Behind the door: only the hub may use these.
BEHIND_THE_DOOR = (
    "chatroom.store",
    "chatroom.bus",
    "chatroom.rooms.feed",
    "chatroom.rooms.presence",
    "chatroom.rooms.directory",
    "chatroom.rooms.history",
    "chatroom.rooms.typing",
)
HUB_INSIDES = {
    "store",
    "bus",
    "feeds",
    "presence",
    "directory",
    "history",
    "typing",
    "limiter",
    "limits",
    "renders",
    "retention",
    "finder",
    "uploads",
}


def resolve(dotted: str) -> object:
    """The object a dotted name stands for: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ModuleNotFoundError(dotted)


def test_every_name_on_the_map_exists() -> None:
    names = NAMED.findall(chatroom.__doc__ or "")
    assert len(names) > 30, "the map names each step of a message's path"
    missing = []
    for name in names:
        try:
            resolve(name)
        except (AttributeError, ModuleNotFoundError):
            missing.append(name)
    assert missing == []


def outer_layer_files() -> list[Path]:
    return sorted([*(PACKAGE / "web").glob("*.py"), *(PACKAGE / "transports").glob("*.py")])


def test_web_and_transports_import_nothing_behind_the_hub() -> None:
    found = []
    for path in outer_layer_files():
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            modules += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            found += [f"{path.name}: {m}" for m in modules if m.startswith(BEHIND_THE_DOOR)]
    assert found == []


def test_web_and_transports_use_the_hub_not_its_insides() -> None:
    found = []
    for path in outer_layer_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in HUB_INSIDES:
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert found == []
