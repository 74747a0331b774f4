"""The lock files (requirements/*.lock, written by scripts/lock.sh) must agree with pyproject.toml: every
dependency declared there is pinned in the lock at a version its specifier allows, with hashes. A
dependency added to pyproject.toml without running scripts/lock.sh fails here instead of at install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def pins(lock: Path) -> dict[str, str]:
    found = {}
    for line in lock.read_text().splitlines():
        if m := PIN.match(line):
            found[canonicalize_name(m.group(1))] = m.group(2)
    return found


def declared(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requirements = [Requirement(r) for r in project["project"]["dependencies"]]
    requirements += [Requirement(r) for r in project["build-system"]["requires"]]
    if extra:
        requirements += [Requirement(r) for r in project["project"]["optional-dependencies"][extra]]
    return requirements


@pytest.mark.parametrize(("lock", "extra"), [("main.lock", None), ("dev.lock", "dev")])
def test_lock_pins_every_declared_dependency_within_its_bounds(lock, extra):
    path = ROOT / "requirements" / lock
    pinned = pins(path)
    wrong = {}
    for requirement in declared(extra):
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            wrong[str(requirement)] = version
    assert wrong == {}, f"{lock} is out of date with pyproject.toml: run scripts/lock.sh"
    # Every requirement line is an exact pin, and each pin carries its hashes on the lines below it.
    blocks = re.split(r"\n(?=[^\s#])", path.read_text())
    requirement_blocks = [b for b in blocks if b.strip() and not b.startswith("#")]
    assert [b for b in requirement_blocks if not PIN.match(b) or "--hash=sha256:" not in b] == []
    assert len(requirement_blocks) == len(pinned)


def test_every_dependency_has_an_upper_bound():
    unbounded = [str(r) for r in declared("dev") if not any(s.operator in ("<", "<=", "==", "~=") for s in r.specifier)]
    assert unbounded == []
