"""Just enough HTTP/1.1 for the load benchmark's own servers and client: keep-alive, Content-Length, chunked.

Hand-written so that the fakes and the load generator cost little CPU next to the bot they measure.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
SSE_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n")
LAST_CHUNK = b"0\r\n\r\n"


@dataclass(frozen=True)
class Message:
    """A request or a response: its first line, lower-cased headers and whole body."""

    start: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"

    @property
    def status(self) -> int:
        """The status code of a response."""
        return int(self.start.split(" ", 2)[1])

    @property
    def target(self) -> tuple[str, str]:
        """The path and query string of a request."""
        path, _, query = self.start.split(" ", 2)[1].partition("?")
        return path, query


async def read_message(reader: asyncio.StreamReader) -> Message:
    """One message from the stream (raises IncompleteReadError at the end of the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    start, *lines = head[:-4].decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Message(start, headers, await _read_body(reader, headers))


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return await _read_chunked(reader)
    return await reader.readexactly(int(headers.get("content-length", "0")))


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    await reader.readuntil(b"\r\n")  # the empty trailer section
    return b"".join(parts)


def response(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    """A whole response with a Content-Length (the connection stays open)."""
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\ncontent-type: {content_type}\r\n"
            f"content-length: {len(body)}\r\n\r\n")
    return head.encode() + body


def request(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """A whole request to 127.0.0.1 with a Content-Length."""
    lines = [f"{method} {path} HTTP/1.1", "host: 127.0.0.1", f"content-length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunk(data: bytes) -> bytes:
    """One piece of a chunked body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


async def get(port: int, path: str) -> Message:
    """GET on a fresh connection to 127.0.0.1 (for occasional reads: /metrics, the fakes' records)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request("GET", path, headers={"connection": "close"}))
        return await asyncio.wait_for(read_message(reader), 30.0)
    finally:
        writer.close()
