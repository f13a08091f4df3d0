"""A fake SearXNG instance: GET /search?q=…&format=json answers like SearXNG's JSON API; records the queries.

Results are made from the query (or set per query in ``results``); ``slow`` makes a query answer nothing for a while,
``status`` answers every search with an HTTP error (SearXNG sends 403 when the JSON format is not enabled).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.http_fake import ThreadedServer


class FakeSearXNG:
    def __init__(self) -> None:
        self.results: dict[str, list[dict[str, Any]]] = {}
        self.slow: dict[str, float] = {}  # a query, and how many seconds it takes to answer
        self.status = 200
        self._closing = threading.Event()
        self._queries: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadedServer(Starlette(routes=[Route("/search", self._search)]))

    @property
    def url(self) -> str:
        return self._server.root

    def __enter__(self) -> Self:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._server.__exit__(None, None, None)

    @property
    def queries(self) -> list[str]:
        with self._lock:
            return list(self._queries)

    async def _search(self, request: Request) -> Response:
        query = request.query_params.get("q", "")
        with self._lock:
            self._queries.append(query)
        waited, seconds = 0.0, self.slow.get(query, 0.0)
        while waited < seconds and not self._closing.is_set():
            await asyncio.sleep(0.05)
            waited += 0.05
        if self.status != 200 or request.query_params.get("format") != "json":
            return Response("Forbidden", status_code=self.status if self.status != 200 else 403)
        results = self.results[query] if query in self.results else [
            {"title": f"{query} — result {n}", "url": f"https://example.com/{n}?q={query.replace(' ', '+')}",
             "content": f"Snippet {n} about {query}.", "engine": "fake", "score": 1.0 / n} for n in (1, 2, 3)]
        return JSONResponse({"query": query, "number_of_results": len(results), "results": results,
                             "answers": [], "corrections": [], "infoboxes": [], "suggestions": [],
                             "unresponsive_engines": []})
