"""tasks.py, the entry point of a fresh checkout: ``run`` says what is missing before installing anything, and
passes signals on to the bot and its exit code back."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import signal, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
signal.signal(signal.SIGINT, lambda *_: sys.exit(4))
print("ready", flush=True)
signal.pause()
"""


def checkout(tmp_path: Path) -> Path:
    """A fresh checkout's entry points: tasks.py and .env.example, nothing installed."""
    for name in ("tasks.py", ".env.example"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY")}


def test_run_without_the_tokens_says_to_copy_the_example_and_installs_nothing(tmp_path: Path) -> None:
    fresh = checkout(tmp_path)
    done = subprocess.run([sys.executable, "tasks.py", "run"], cwd=fresh, env=clean_environment(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "cp .env.example .env" in done.stderr and "TELEGRAM_BOT_TOKEN and OPENAI_API_KEY" in done.stderr
    assert not (fresh / ".venv").exists()
    (fresh / ".env").write_text("TELEGRAM_BOT_TOKEN=123:abc\n# OPENAI_API_KEY=commented out\n")
    done = subprocess.run([sys.executable, "tasks.py", "run"], cwd=fresh, env=clean_environment(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "OPENAI_API_KEY not set" in done.stderr


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 3), (signal.SIGINT, 4)])
def test_signals_reach_the_child_and_its_exit_code_comes_back(sig: signal.Signals, code: int) -> None:
    supervisor = subprocess.Popen(
        [sys.executable, "-c", f"import sys, tasks; sys.exit(tasks.supervise([sys.executable, '-c', {CHILD!r}]))"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert supervisor.stdout is not None and supervisor.stdout.readline().strip() == "ready"
    supervisor.send_signal(sig)
    assert supervisor.wait(timeout=30) == code
