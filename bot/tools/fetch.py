"""fetch_url: reads a URL's text for the model, guarded against server-side request forgery.

Only http and https; every address the host resolves to must be public (TOOLS_ALLOW_PRIVATE_NETWORKS lifts
that); each redirect is checked again; the connection goes to the very addresses checked (no second lookup);
at most 2 MB are read, within 10 seconds.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.domain.tools import JSONObject, Progress, ToolContext, ToolError, ToolSpec
from bot.tools.address import IPAddress, Resolver, SystemResolver, is_public, literal
from bot.tools.extract import MAX_CHARS, Document, extract

MAX_BYTES = 2 * 1024 * 1024
MAX_SECONDS = 10.0
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
USER_AGENT = "Mozilla/5.0 (compatible; telegram-llm-bot; +fetch_url)"

SPEC = ToolSpec(
    name="fetch_url",
    description="Read a web page's main text, or a plain-text, JSON or PDF document, from an http(s) URL. "
                "Use it to read a page the user gives or a search result; cite the URL you read.",
    parameters={"type": "object", "required": ["url"], "properties": {
        "url": {"type": "string", "description": "The full http:// or https:// URL."}}},
    title="a web page",
)


@dataclass(frozen=True)
class _Hop:
    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


class FetchUrl:
    """The fetch_url tool."""

    spec = SPEC

    def __init__(self, allow_private: bool = False, resolver: Resolver | None = None, *,
                 max_bytes: int = MAX_BYTES, max_seconds: float = MAX_SECONDS,
                 public: Callable[[IPAddress], bool] = is_public) -> None:
        self._allow_private = allow_private
        self._public = public
        self._resolver = resolver or SystemResolver()
        self._max_bytes = max_bytes
        self._max_seconds = max_seconds

    def progress(self, arguments: JSONObject) -> Progress:
        host = urlsplit(str(arguments.get("url", ""))).hostname or "a web page"
        return Progress("read", host.removeprefix("www."))

    async def run(self, arguments: JSONObject, context: ToolContext) -> str:
        url = arguments.get("url")
        if not isinstance(url, str) or not url.strip():
            raise ToolError("url must be an http:// or https:// URL")
        try:
            async with asyncio.timeout(self._max_seconds):
                document = await self._fetch(url.strip())
        except TimeoutError:
            raise ToolError(f"the URL did not answer within {self._max_seconds:g} seconds") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ToolError(f"the URL could not be read ({type(exc).__name__})") from None
        text = (await asyncio.to_thread(extract, document)).strip()
        cut = "\n[the rest of the document is left out]" if len(text) > MAX_CHARS or document.truncated else ""
        return f"URL: {document.url}\n\n{text[:MAX_CHARS] or '(no text)'}{cut}"

    async def _fetch(self, url: str) -> Document:
        for _ in range(MAX_REDIRECTS + 1):
            hop = await self.checked(url)
            answer = await self._get(hop)
            if isinstance(answer, Document):
                return answer
            url = answer
        raise ToolError(f"more than {MAX_REDIRECTS} redirects")

    async def checked(self, url: str) -> _Hop:
        """The URL's host and the addresses it may be reached at; ToolError when it may not be read at all."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ToolError("only http:// and https:// URLs can be read")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ToolError("the URL's port is not a number") from None
        direct = literal(parts.hostname)
        addresses = [str(direct)] if direct is not None else await self._lookup(parts.hostname, port)
        if not self._allow_private and not all(self._public(ipaddress.ip_address(a)) for a in addresses):
            raise ToolError(f"refused: {parts.hostname} is not on the public internet")
        return _Hop(url, parts.hostname, port, tuple(addresses))

    async def _lookup(self, host: str, port: int) -> list[str]:
        try:
            addresses = await self._resolver.resolve(host, port)
        except OSError:
            raise ToolError(f"the host {host} was not found") from None
        if not addresses:
            raise ToolError(f"the host {host} was not found")
        return addresses

    async def _get(self, hop: _Hop) -> Document | str:
        """The document at the hop, or the URL it redirects to."""
        connector = aiohttp.TCPConnector(resolver=_Pinned(hop), use_dns_cache=False, limit=1)
        async with aiohttp.ClientSession(connector=connector, headers={"User-Agent": USER_AGENT},
                                         trust_env=False) as session, \
                session.get(hop.url, allow_redirects=False) as response:
            if response.status in _REDIRECTS and response.headers.get("Location"):
                return urljoin(hop.url, response.headers["Location"])
            if response.status >= 400:
                raise ToolError(f"the server answered HTTP {response.status}")
            body, truncated = await _limited(response, self._max_bytes)
            return Document(str(response.url), response.content_type, body, response.charset, truncated)


async def _limited(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the body, and whether there was more."""
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


class _Pinned(AbstractResolver):
    """Gives aiohttp the addresses already checked for the hop's host, so it looks nothing up itself."""

    def __init__(self, hop: _Hop) -> None:
        self._hop = hop

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list[ResolveResult]:
        if host != self._hop.host:  # never: one session serves one hop
            raise OSError(f"unexpected host {host}")
        return [ResolveResult(hostname=host, host=address, port=port,
                              family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                              proto=0, flags=socket.AI_NUMERICHOST) for address in self._hop.addresses]

    async def close(self) -> None:
        """Nothing to close."""
