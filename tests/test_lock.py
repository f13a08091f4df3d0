"""requirements.lock, the exact versions the Docker image installs, agrees with pyproject.toml's ranges."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PINNED = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;#]+)")
# The platform the lock is compiled for (its header has the command): the image's Linux and Python.
IMAGE = {**{k: str(v) for k, v in default_environment().items()}, "sys_platform": "linux", "platform_system": "Linux"}


def locked() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = PINNED.match(line)
        if match:
            pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


def dependencies() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(spec) for spec in project["dependencies"]]


def test_every_runtime_dependency_is_locked_at_a_version_its_range_admits() -> None:
    pins, wrong = locked(), []
    for requirement in dependencies():
        if requirement.marker is not None and not requirement.marker.evaluate(IMAGE):
            continue
        version = pins.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            wrong.append(f"{requirement}: locked {version or 'not at all'}")
    assert wrong == [], "regenerate requirements.lock with the command in its header"


def test_the_lock_pins_every_package_exactly_once() -> None:
    lines = [line for line in (ROOT / "requirements.lock").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    names = [canonicalize_name(m[1]) for line in lines if (m := PINNED.match(line))]
    assert len(names) == len(lines) == len(set(names)) > 20
