from __future__ import annotations

from bot.domain.capability import Limit, is_reasoning


def test_a_rejected_parameter_names_what_is_learnt() -> None:
    assert Limit.of_parameter("max_tokens") is Limit.MAX_TOKENS
    assert Limit.of_parameter("tool_choice") is Limit.TOOLS
    assert Limit.of_parameter("messages") is None


def test_a_reasoning_model_refuses_a_sampling_parameter_or_was_seen_reasoning() -> None:
    assert is_reasoning(frozenset({Limit.TEMPERATURE, Limit.MAX_TOKENS}))
    assert is_reasoning(frozenset({Limit.TEMPERATURE, Limit.IMAGES}))
    assert is_reasoning(frozenset({Limit.MAX_TOKENS}))
    assert is_reasoning(frozenset({Limit.REASONS}))
    assert not is_reasoning(frozenset({Limit.IMAGES, Limit.TOOLS}))
