"""web_search: the top results of a SearXNG instance (its JSON API), with their links for the model to cite."""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.domain.tools import JSONObject, Progress, ToolContext, ToolError, ToolSpec

RESULTS = 5
SNIPPET_CHARS = 400
TIMEOUT_SECONDS = 10.0

SPEC = ToolSpec(
    name="web_search",
    description="Search the web for current information. Returns the top results (title, URL, snippet). "
                "Cite the links you use in your answer; read a page with fetch_url when a snippet is not enough.",
    parameters={"type": "object", "required": ["query"], "properties": {
        "query": {"type": "string", "description": "What to search for, as you would type it into a search engine."}}},
    title="web search",
)


class WebSearch:
    """The web_search tool on a SearXNG instance (an operator's: not subject to fetch_url's address rule)."""

    spec = SPEC

    def __init__(self, base_url: str, *, results: int = RESULTS, timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        self._endpoint = base_url.rstrip("/") + "/search"
        self._results = results
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    def progress(self, arguments: JSONObject) -> Progress:
        return Progress("search", str(arguments.get("query", "")))

    async def run(self, arguments: JSONObject, context: ToolContext) -> str:
        query = arguments.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ToolError("query must be a non-empty text")
        data = await self._search(query.strip())
        return _listing(query.strip(), data, self._results)

    async def _search(self, query: str) -> dict[str, Any]:
        params = {"q": query, "format": "json"}
        try:
            async with aiohttp.ClientSession(timeout=self._timeout) as session, \
                    session.get(self._endpoint, params=params) as response:
                if response.status != 200:
                    raise ToolError(f"the search engine answered HTTP {response.status}")
                data = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ToolError(f"the search engine could not be reached ({type(exc).__name__})") from None
        except ValueError:
            raise ToolError("the search engine did not answer in JSON") from None
        if not isinstance(data, dict):
            raise ToolError("the search engine did not answer in JSON")
        return data


def _listing(query: str, data: dict[str, Any], limit: int) -> str:
    results = [r for r in data.get("results") or [] if isinstance(r, dict) and isinstance(r.get("url"), str)]
    answers = [str(a.get("answer", a)) if isinstance(a, dict) else str(a) for a in data.get("answers") or []]
    if not results and not answers:
        return f"No results for “{query}”."
    lines = [f"Search results for “{query}”:"]
    lines.extend(f"Answer: {answer[:SNIPPET_CHARS]}" for answer in answers[:2])
    for number, result in enumerate(results[:limit], 1):
        snippet = " ".join(str(result.get("content") or "").split())[:SNIPPET_CHARS]
        lines.append(f"{number}. {str(result.get('title') or result['url']).strip()}\n   {result['url']}"
                     + (f"\n   {snippet}" if snippet else ""))
    return "\n".join(lines)
