"""The real ``python -m bot`` process for end-to-end tests, configured only through its environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from bot.config import derive_webhook_secret
from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-token_abcdefghijklmnop"
API_KEY = "sk-test-key-0123456789"
WEBHOOK_PATH = "/telegram/webhook"


class BotProcess:
    """Starts the bot on a free port, in webhook mode unless ``polling``, and waits until /healthz answers."""

    def __init__(self, env: dict[str, str], port: int | None = None, *, polling: bool = False) -> None:
        self.port = port or free_port()
        webhook = {} if polling else {"WEBHOOK_URL": f"https://bot.example.test{WEBHOOK_PATH}"}
        self.env = {
            "TELEGRAM_BOT_TOKEN": TOKEN, "OPENAI_API_KEY": API_KEY, "HOST": "127.0.0.1", "PORT": str(self.port),
            **webhook, "LOG_LEVEL": "INFO", **env,
        }
        self.secret = self.env.get("WEBHOOK_SECRET") or derive_webhook_secret(self.env["TELEGRAM_BOT_TOKEN"])
        self._log = tempfile.NamedTemporaryFile(prefix="bot-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)

    def __enter__(self) -> BotProcess:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
        self.http.close()

    def start(self) -> None:
        self.launch()
        self.wait_healthy()

    def launch(self) -> None:
        """Start the process without waiting for it (to start several replicas at once)."""
        # A scratch working directory, so a developer's .env never leaks into a test.
        self.process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=tempfile.gettempdir(),
                                        env=base_environment() | self.env,
                                        stdout=self._log, stderr=subprocess.STDOUT)

    def wait_healthy(self) -> None:
        """Wait until /healthz answers 200; fail with the log if the process exits or takes over 30 s."""
        assert self.process is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bot exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.http.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"bot did not become healthy:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def post(self, update: dict[str, Any] | bytes | str, secret: str | None = "") -> httpx.Response:
        """POST to the webhook as Telegram would (with the right secret unless told otherwise)."""
        headers = {"Content-Type": "application/json"}
        secret = self.secret if secret == "" else secret
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        body = json.dumps(update) if isinstance(update, dict) else update
        return self.http.post(WEBHOOK_PATH, content=body, headers=headers)

    def log(self) -> str:
        return Path(self._log.name).read_text(errors="replace")


_PASSED_THROUGH = ("PATH", "HOME", "LANG", "TIKTOKEN_CACHE_DIR", "VIRTUAL_ENV", "PYTHONPATH", "TMPDIR")


def base_environment() -> dict[str, str]:
    """Only what a process needs to run: the bot's settings come from each test alone."""
    return {k: v for k, v in os.environ.items() if k in _PASSED_THROUGH} | {"PYTHONPATH": str(ROOT)}


def run_bot_once(env: dict[str, str], *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot [args]`` to completion; returns its exit code and output."""
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tempfile.gettempdir(), env=base_environment() | env,
                          capture_output=True, text=True, timeout=timeout)
