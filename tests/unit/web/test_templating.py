"""The templates' environment: one plain dict of globals per template, which a render copies cheaply; each template
compiled once per machine."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import jinja2
from starlette.templating import Jinja2Templates

from chatroom.web.templating import COMPILED, CompiledOnce, template_environment


def test_a_template_sees_every_global_set_before_it_loads_in_one_plain_dict() -> None:
    env = template_environment()
    Jinja2Templates(env=env)  # adds `url_for`, as the app does before any template loads
    template = env.from_string("{{ reaction_set | length > 0 }} {{ url_for is defined }} {{ own }}", {"own": "mine"})
    assert type(template.globals) is dict, "a ChainMap is walked in full at every render"
    assert template.render() == "True True mine"
    assert "own" not in env.globals, "a template's own globals stay its own"


def _compiling(env: jinja2.Environment) -> list[str]:
    """Records the templates `env` compiles from source."""
    compiled: list[str] = []
    compile_ = env.compile

    def recording(source: Any, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        compiled.append(name or "")
        return compile_(source, name, *args, **kwargs)

    env.compile = recording  # type: ignore[method-assign]
    return compiled


def _environment(cache: CompiledOnce, templates: Path) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(templates), bytecode_cache=cache, auto_reload=False)


def test_the_next_process_loads_the_templates_compiled_by_the_last_from_disk(tmp_path: Path) -> None:
    templates, disk = tmp_path / "templates", tmp_path / "cache"
    templates.mkdir()
    disk.mkdir()
    (templates / "a.html").write_text("a {{ x }}")
    (templates / "b.html").write_text("b {{ x }}")
    first = _environment(CompiledOnce(jinja2.FileSystemBytecodeCache(str(disk))), templates)
    compiled = _compiling(first)
    assert first.get_template("a.html").render(x=1) == "a 1"
    assert compiled == ["a.html"]

    again = CompiledOnce(jinja2.FileSystemBytecodeCache(str(disk)))  # another process: nothing in memory
    second = _environment(again, templates)
    compiled = _compiling(second)
    assert second.get_template("a.html").render(x=2) == "a 2"
    assert second.get_template("b.html").render(x=2) == "b 2"
    assert compiled == ["b.html"], "a.html came from disk"
    (templates / "a.html").write_text("changed {{ x }}")  # a deploy changed it: its checksum no longer matches
    third = _environment(CompiledOnce(jinja2.FileSystemBytecodeCache(str(disk))), templates)
    compiled = _compiling(third)
    assert third.get_template("a.html").render(x=3) == "changed 3"
    assert compiled == ["a.html"]


def test_a_disk_that_refuses_leaves_the_templates_compiled_in_memory(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "a.html").write_text("a {{ x }}")
    cache = CompiledOnce(jinja2.FileSystemBytecodeCache(str(tmp_path / "missing" / "dir")))
    assert _environment(cache, templates).get_template("a.html").render(x=1) == "a 1"
    again = _environment(cache, templates)
    compiled = _compiling(again)
    assert again.get_template("a.html").render(x=2) == "a 2"
    assert compiled == [], "the same process compiles it once"


def test_the_apps_templates_are_kept_in_a_private_directory() -> None:
    disk = COMPILED._disk
    if os.name != "posix":
        return
    assert isinstance(disk, jinja2.FileSystemBytecodeCache)
    mode = os.stat(disk.directory)
    assert mode.st_uid == os.getuid() and stat.S_IMODE(mode.st_mode) == 0o700
