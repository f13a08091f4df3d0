#!/usr/bin/env python3
"""Two entry points for a fresh machine: ``python3 tasks.py run`` and ``python3 tasks.py test``.

Each creates .venv and installs the project on first use (again when pyproject.toml changes).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
TOKENS = ("TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY")
EXIT_CONFIG = 2


def ensure_venv(extras: str) -> None:
    """Create the virtual environment and install the project, once per pyproject.toml version."""
    stamp = VENV / f".installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    target = f".[{extras}]" if extras else "."
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", target], check=True, cwd=ROOT)
    stamp.write_text(digest)


def ensure_redis_server() -> None:
    """End-to-end tests need redis-server; install it where we may (root with apt-get), else say so."""
    if shutil.which("redis-server"):
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True)
        return
    print("note: redis-server is not installed; end-to-end tests will be skipped "
          "(install it, e.g. 'sudo apt-get install redis-server' or 'brew install redis')", file=sys.stderr)


def missing_tokens() -> list[str]:
    """The two tokens the bot cannot start without, unless the environment or .env sets them (checked before
    anything is installed, so a fresh checkout says what to do first)."""
    found = dict(os.environ)
    dotenv = ROOT / ".env"
    if dotenv.is_file():
        for line in dotenv.read_text().splitlines():
            name, _, value = line.strip().partition("=")
            if name and not name.startswith("#"):
                found.setdefault(name.strip().removeprefix("export ").strip(), value.strip().strip("\"'"))
    return [name for name in TOKENS if not found.get(name)]


def supervise(command: list[str]) -> int:
    """Run ``command``, passing SIGTERM and SIGINT on to it, and return its exit code (128 + N for signal N).

    The child gets a process group of its own, so a Ctrl-C in the terminal reaches it once (from here), not
    twice (a second signal makes the bot stop at once instead of draining)."""
    group = 0 if os.name == "posix" else None
    child = subprocess.Popen(command, cwd=ROOT, process_group=group)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, frame: child.send_signal(number))
    code = child.wait()
    return 128 - code if code < 0 else code


def run() -> int:
    missing = missing_tokens()
    if missing:
        print(f"{' and '.join(missing)} not set. Start with: cp .env.example .env — then put your bot token "
              "(from @BotFather) and your model server's API key in .env.", file=sys.stderr)
        return EXIT_CONFIG
    ensure_venv("")
    return supervise([str(PYTHON), "-m", "bot", *sys.argv[2:]])


def test() -> int:
    ensure_venv("dev")
    ensure_redis_server()
    for step in (["ruff", "check", "."], ["mypy"], ["pytest", *sys.argv[2:]]):
        print("==>", " ".join(step), flush=True)
        code = subprocess.call([str(BIN / step[0]), *step[1:]], cwd=ROOT)
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    commands = {"run": run, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python3 {Path(__file__).name} run|test [args…]")
    sys.exit(commands[sys.argv[1]]())
