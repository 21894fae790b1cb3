"""The locks say exactly what is installed: every dependency of pyproject.toml pinned within its bounds, with hashes.

A dependency added to pyproject.toml without `scripts/lock` fails here (and `scripts/setup` refuses to go on).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCKS = {"": "requirements.txt", "test": "requirements-test.txt", "bench": "requirements-bench.txt"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in PIN.findall((ROOT / lock).read_text())}


def wanted(extra: str) -> list[Requirement]:
    requirements = [Requirement(line) for line in PROJECT["dependencies"]]
    if extra:
        requirements += [Requirement(line) for line in PROJECT["optional-dependencies"][extra]]
    return requirements


@pytest.mark.parametrize("extra", list(LOCKS))
def test_each_dependency_is_pinned_within_its_bounds(extra: str) -> None:
    pinned = pins(LOCKS[extra])
    problems = []
    for requirement in wanted(extra):
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement} is locked at {version}: run scripts/lock")
    assert problems == []


def test_every_extra_has_a_lock() -> None:
    assert set(PROJECT["optional-dependencies"]) | {""} == set(LOCKS)


@pytest.mark.parametrize("lock", list(LOCKS.values()))
def test_every_pin_has_hashes_and_nothing_is_unpinned(lock: str) -> None:
    requirements = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text().split("\n", 2)[2].strip())
    # A package may have a pin per Python version (numpy's newest need a newer Python), each under its marker.
    assert len(requirements) == len(PIN.findall((ROOT / lock).read_text())) > 10
    for entry in requirements:
        assert PIN.match(entry) and "--hash=sha256:" in entry, entry.splitlines()[0]


def test_the_extras_agree_with_the_apps_lock() -> None:
    app = pins("requirements.txt")
    for lock in ("requirements-test.txt", "requirements-bench.txt"):
        assert {name: version for name, version in pins(lock).items() if name in app} == app
    test, bench = pins("requirements-test.txt"), pins("requirements-bench.txt")
    assert {name: test[name] for name in test.keys() & bench.keys()} == {
        name: bench[name] for name in test.keys() & bench.keys()
    }
