"""Stored turns: an answer's tool rounds survive the round trip, and turns without tools keep the old format."""

from __future__ import annotations

import json

from bot.domain.tools import ToolCall
from bot.domain.transcript import ToolRound, Turn

OLD = '{"role":"assistant","content":"Hi","tokens":5,"name":null,"id":"abc"}'


def test_a_turn_without_tools_is_written_as_before() -> None:
    assert Turn("assistant", "Hi", 5, id="abc").to_json() == OLD  # byte for byte: the fold script compares them
    assert Turn.from_json(OLD) == Turn("assistant", "Hi", 5, id="abc")


def test_an_answers_tool_rounds_survive_the_round_trip() -> None:
    rounds = (ToolRound((ToolCall("c1", "web_search", '{"query": "x"}'), ToolCall("c2", "current_time")),
                        ("results", '{"datetime": "…"}')),)
    turn = Turn("assistant", "Answer", 40, id="abc", tools=rounds)
    raw = turn.to_json()
    assert Turn.from_json(raw) == turn
    assert Turn.from_json(raw).to_json() == raw


def test_code_that_knows_nothing_of_tools_reads_such_a_turn_as_a_plain_answer() -> None:
    raw = Turn("assistant", "Answer", 40, id="abc", tools=(ToolRound((ToolCall("c1", "f"),), ("r",)),)).to_json()
    data = json.loads(raw)
    assert (data["role"], data["content"], data["tokens"], data["id"]) == ("assistant", "Answer", 40, "abc")
