"""The running version (pyproject's) and commit, for ``python -m bot --version`` and ``bot_build_info``."""

from __future__ import annotations

import functools
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "telegram-llm-bot"
_PACKAGE = Path(__file__).resolve().parent
# Written by the Docker build (its context has no .git); a source checkout asks git.
_COMMIT_FILE = _PACKAGE / "COMMIT"


@functools.cache
def version() -> str:
    """pyproject.toml's version: read from the checkout when run from one (an editable install's metadata may be
    older), else from the installed distribution."""
    pyproject = _PACKAGE.parent / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        if project.get("name") == DISTRIBUTION and isinstance(project.get("version"), str):
            return str(project["version"])
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def commit() -> str:
    """The short commit id the code was built from, or "unknown"."""
    if _COMMIT_FILE.is_file():
        return _COMMIT_FILE.read_text().strip() or "unknown"
    try:
        done = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=_PACKAGE, capture_output=True,
                              text=True, timeout=2, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


def build() -> dict[str, str]:
    """The labels of ``bot_build_info``."""
    return {"version": version(), "commit": commit()}
