"""Real redis-servers on free ports for tests (one, or a Sentinel-managed set), and when they may be missing."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError

SERVICE = "mymaster"
# Sentinel's timings, short so that a failover takes a few seconds: a master silent for a second is down.
_SENTINEL_CONF = """port {port}
bind 127.0.0.1
dir {workdir}
sentinel monitor {service} 127.0.0.1 {primary} 2
sentinel down-after-milliseconds {service} 1000
sentinel failover-timeout {service} 3000
sentinel parallel-syncs {service} 1
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def require_redis_server() -> str:
    """The redis-server binary; skipped when missing, unless under CI where it must be there."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed, but CI is set: .ci/run must install it")
        pytest.skip("redis-server is not installed (set CI to make this a failure)")
    return binary


@contextmanager
def running_redis() -> Iterator[str]:
    """Start redis-server on a free port, without persistence; yields its redis:// URL."""
    with tempfile.TemporaryDirectory() as workdir, _server(_data_server(workdir)) as (port, _):
        yield f"redis://127.0.0.1:{port}/0"


@dataclass
class RestartableRedis:
    """A redis-server that can be shut down (saving its data, as a Redis with persistence does) and started again
    on the same port, where it loads what it saved."""

    port: int
    workdir: str
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def shut_down(self) -> None:
        """SHUTDOWN SAVE: clients' connections drop, new ones are refused until ``start``."""
        with Redis(port=self.port, socket_timeout=5) as client, contextlib.suppress(RedisError):
            client.shutdown(save=True)  # (the connection closes as the server exits)
        self.process.wait(timeout=10)

    def start(self) -> None:
        self.process = subprocess.Popen(_data_server(self.workdir)(self.port), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        _wait_for_port(self.port)


@contextmanager
def restartable_redis() -> Iterator[RestartableRedis]:
    """A redis-server of its own, for tests that stop and restart it."""
    with tempfile.TemporaryDirectory() as workdir, _server(_data_server(workdir)) as (port, process):
        server = RestartableRedis(port, workdir, process)
        try:
            yield server
        finally:
            if server.process.poll() is None:
                server.process.terminate()
                server.process.wait(timeout=10)


@dataclass
class SentinelSet:
    """A primary, its replica and three sentinels monitoring them, all on 127.0.0.1."""

    primary: subprocess.Popen[bytes]
    primary_port: int
    replica_port: int
    sentinel_ports: tuple[int, ...]
    password: str | None = None
    sentinels_ask: bool = False  # the sentinels want the password too (requirepass on them)

    @property
    def url(self) -> str:
        """REDIS_URL naming the set through its sentinels."""
        secret = f":{self.password}@" if self.password else ""
        return f"redis+sentinel://{secret}{','.join(f'127.0.0.1:{p}' for p in self.sentinel_ports)}/{SERVICE}"

    def master_port(self) -> int:
        """The master's port as the first sentinel that answers names it."""
        for port in self.sentinel_ports:
            with Redis(port=port, socket_timeout=1, password=self._sentinel_password) as sentinel:
                try:
                    return int(sentinel.sentinel_get_master_addr_by_name(SERVICE)[1])
                except OSError:
                    continue
        raise RuntimeError("no sentinel answers")

    def kill_primary(self) -> None:
        """SIGKILL the primary: no shutdown, no last write to the replica."""
        self.primary.send_signal(signal.SIGKILL)
        self.primary.wait(timeout=10)

    def switch_over(self) -> None:
        """A planned failover (SENTINEL FAILOVER): a replica is promoted, the old master stays up and is demoted."""
        with Redis(port=self.sentinel_ports[0], socket_timeout=1, password=self._sentinel_password) as sentinel:
            sentinel.execute_command("SENTINEL", "FAILOVER", SERVICE)

    @property
    def _sentinel_password(self) -> str | None:
        return self.password if self.sentinels_ask else None


@contextmanager
def running_sentinels(password: str | None = None, *, sentinels_ask: bool = False) -> Iterator[SentinelSet]:
    """A primary, a replica and three sentinels (``redis-server --sentinel``), ready to fail over; with a
    ``password`` the servers require it (and, ``sentinels_ask``, the sentinels too)."""
    auth = ["--requirepass", password, "--masterauth", password] if password else []
    with tempfile.TemporaryDirectory() as workdir, ExitStack() as stack:
        primary_port, primary = stack.enter_context(_server(_data_server(f"{workdir}/primary", *auth)))
        replica_port, _ = stack.enter_context(_server(
            _data_server(f"{workdir}/replica", "--replicaof", "127.0.0.1", str(primary_port), *auth)))
        sentinels = tuple(stack.enter_context(_server(_sentinel(f"{workdir}/sentinel{n}", primary_port, password,
                                                                sentinels_ask)))[0] for n in range(3))
        found = SentinelSet(primary, primary_port, replica_port, sentinels, password, sentinels_ask)
        _wait_until_ready(found)
        yield found


Command = Callable[[int], list[str]]  # the redis-server command line for a port


def _data_server(workdir: str, *extra: str) -> Command:
    Path(workdir).mkdir(parents=True, exist_ok=True)
    # No disk; a replica's first sync is streamed at once (diskless, no delay).
    options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir,
               "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", *extra]
    return lambda port: [require_redis_server(), "--port", str(port), *options]


def _sentinel(workdir: str, primary_port: int, password: str | None = None, asks: bool = False) -> Command:
    def command(port: int) -> list[str]:
        Path(workdir).mkdir(parents=True)
        conf = Path(workdir) / "sentinel.conf"  # Sentinel rewrites its configuration file: one each
        text = _SENTINEL_CONF.format(port=port, workdir=workdir, service=SERVICE, primary=primary_port)
        if password:
            text += f"sentinel auth-pass {SERVICE} {password}\n" + (f"requirepass {password}\n" if asks else "")
        conf.write_text(text)
        return [require_redis_server(), str(conf), "--sentinel"]
    return command


@contextmanager
def _server(command: Command) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A redis-server on a free port, stopped at the end (unless a test killed it)."""
    port = free_port()
    process = subprocess.Popen(command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port)
        yield port, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def _wait_until_ready(found: SentinelSet, timeout: float = 20.0) -> None:
    """Until the replica is in sync and every sentinel knows it and the two other sentinels (needed to elect)."""
    deadline, others = time.monotonic() + timeout, len(found.sentinel_ports) - 1
    asked = found.password if found.sentinels_ask else None
    while time.monotonic() < deadline:
        if _in_sync(found.replica_port, found.password) and all(
                _sees_the_set(port, others, asked) for port in found.sentinel_ports):
            return
        time.sleep(0.1)
    raise RuntimeError("the Sentinel set did not get ready")


def _in_sync(replica_port: int, password: str | None) -> bool:
    with Redis(port=replica_port, socket_timeout=1, password=password) as replica:
        return bool(replica.info("replication").get("master_link_status") == "up")


def _sees_the_set(sentinel_port: int, others: int, password: str | None) -> bool:
    with Redis(port=sentinel_port, socket_timeout=1, password=password) as sentinel:
        return bool(sentinel.sentinel_slaves(SERVICE)) and len(sentinel.sentinel_sentinels(SERVICE)) >= others


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not start on port {port}")
