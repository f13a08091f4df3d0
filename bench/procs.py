"""The processes of a load benchmark: the fakes' subprocess, CPU time read from /proc, CPU pinning (Linux)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import IO, Self

ROOT = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")


class FakesProcess:
    """``python -m bench.fakes`` as a subprocess; it ends when its stdin closes."""

    def __init__(self, chunk_size: int, delay: float) -> None:
        self._args = [sys.executable, "-m", "bench.fakes", "--chunk", str(chunk_size), "--delay", str(delay)]
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> Self:
        env = os.environ | {"PYTHONPATH": str(ROOT)}
        self._process = subprocess.Popen(self._args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.port = int(json.loads(_first_line(self._process.stdout))["port"])
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _first_line(stream: IO[bytes] | None) -> str:
    line = stream.readline().decode() if stream is not None else ""
    if not line:
        raise RuntimeError("bench.fakes did not start")
    return line


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def children(name: str) -> list[int]:
    """This process's children whose command is ``name`` (e.g. the redis-server that tests.redis_server ran)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            command, rest = stat.split("(", 1)[1].rsplit(")", 1)
            if command == name and int(rest.split()[1]) == os.getpid():
                found.append(int(entry.name))
    return found


def pin(pid: int, cpus: set[int]) -> None:
    """Keep every thread of a process on ``cpus`` (threads it starts later inherit it)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), cpus)
        except (ProcessLookupError, PermissionError):
            continue


def machine_busy_seconds() -> float:
    """CPU time all cores have spent on anything but idling and waiting for I/O since boot."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / _TICKS


class CpuMeter:
    """CPU time of named processes (and of everything else on the machine) between two moments."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids

    def read(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()} | {"machine": machine_busy_seconds()}

    @staticmethod
    def used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        """CPU seconds each process used between the two readings, and all other processes together."""
        used = {name: after[name] - before[name] for name in before}
        machine = used.pop("machine")
        return used | {"other processes": max(0.0, machine - sum(used.values()))}


def cpu_model() -> str:
    """The processor's model name, as /proc/cpuinfo gives it."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


class Profile:
    """py-spy record on a process while a phase runs, as collapsed stacks (nothing when ``path`` is None)."""

    def __init__(self, pid: int, path: Path | None) -> None:
        self._command = ["py-spy", "record", "--pid", str(pid), "--rate", "100", "--nonblocking",
                         "--format", "raw", "-o", str(path)]
        self._path = path
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        if self._path is not None:
            if shutil.which("py-spy") is None:
                raise RuntimeError("--profile needs py-spy on PATH (pip install py-spy)")
            self._process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGINT)
            self._process.wait(timeout=60)
