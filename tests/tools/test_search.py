"""web_search against a fake SearXNG instance over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.domain.chat import ChatKey
from bot.domain.tools import Progress, ToolContext, ToolError
from bot.tools.search import WebSearch
from tests.fake_searxng import FakeSearXNG

CONTEXT = ToolContext(ChatKey(1), user_id=1)


@pytest.fixture
def searxng() -> Iterator[FakeSearXNG]:
    with FakeSearXNG() as server:
        yield server


async def test_the_top_results_come_back_with_titles_links_and_snippets(searxng: FakeSearXNG) -> None:
    text = await WebSearch(searxng.url + "/", results=2).run({"query": "cats and dogs"}, CONTEXT)
    assert searxng.queries == ["cats and dogs"]
    assert text == ("Search results for “cats and dogs”:\n"
                    "1. cats and dogs — result 1\n   https://example.com/1?q=cats+and+dogs\n"
                    "   Snippet 1 about cats and dogs.\n"
                    "2. cats and dogs — result 2\n   https://example.com/2?q=cats+and+dogs\n"
                    "   Snippet 2 about cats and dogs.")


async def test_no_results_says_so(searxng: FakeSearXNG) -> None:
    searxng.results["nothing"] = []
    assert await WebSearch(searxng.url).run({"query": "nothing"}, CONTEXT) == "No results for “nothing”."


async def test_an_instance_without_the_json_format_is_an_error_for_the_model(searxng: FakeSearXNG) -> None:
    searxng.status = 403
    with pytest.raises(ToolError, match="HTTP 403"):
        await WebSearch(searxng.url).run({"query": "x"}, CONTEXT)


async def test_an_unreachable_instance_and_a_missing_query_are_errors() -> None:
    with pytest.raises(ToolError, match="could not be reached"):
        await WebSearch("http://127.0.0.1:9").run({"query": "x"}, CONTEXT)
    with pytest.raises(ToolError, match="query"):
        await WebSearch("http://127.0.0.1:9").run({}, CONTEXT)


def test_progress_shows_the_query() -> None:
    assert WebSearch("http://x").progress({"query": "weather"}) == Progress("search", "weather")
