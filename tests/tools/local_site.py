"""A tiny HTTP/1.1 site on a loopback address that counts the connections it accepts (so a test can prove that
a refused URL was never connected to), serving fixed answers by path."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    hang: bool = False


@dataclass
class Site:
    host: str
    port: int = 0
    pages: dict[str, Answer] = field(default_factory=dict)
    connections: int = 0

    @property
    def root(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            answer = self.pages.get(path, Answer(404, b"not found"))
            if answer.hang:
                await asyncio.sleep(30)
            headers = [("Content-Type", answer.content_type), ("Content-Length", str(len(answer.body))),
                       ("Connection", "close"), *answer.headers]
            lines = [f"HTTP/1.1 {answer.status} X", *(f"{k}: {v}" for k, v in headers)]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + answer.body)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def site(host: str = "127.0.0.1", **pages: Answer) -> AsyncIterator[Site]:
    served = Site(host, pages={f"/{name}": answer for name, answer in pages.items()})
    server = await asyncio.start_server(served._serve, host, 0)
    served.port = server.sockets[0].getsockname()[1]
    try:
        yield served
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)
