"""Run a Starlette app on 127.0.0.1 in a background thread (for fake servers the bot process talks to)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

import uvicorn
from starlette.applications import Starlette


class ThreadedServer:
    """A uvicorn server on a free port of 127.0.0.1, in a daemon thread."""

    def __init__(self, app: Starlette) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


WAIT_SECONDS = 30.0  # room for a loaded CI machine: a first answer also waits for the model SDK to load


def wait_for(predicate: Callable[[], object], timeout: float = WAIT_SECONDS, what: str = "condition") -> None:
    """Poll until ``predicate`` is true; fail the test with ``what`` otherwise (a passing test never waits longer
    than it must, so the default timeout is generous)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
