from __future__ import annotations

from bot.domain.transcript import Turn
from bot.domain.usage import reply_estimate


def exchange(question: int, answer: int) -> list[Turn]:
    return [Turn("user", "q", question), Turn("assistant", "a", answer)]


def test_a_reply_is_expected_as_long_as_the_longest_of_the_chats_last_three() -> None:
    turns = [*exchange(5, 900), *exchange(5, 120), *exchange(5, 300), *exchange(5, 80)]
    assert reply_estimate(turns, max_tokens=1024) == 300  # the 900 is four replies back
    assert reply_estimate(turns[:-2], max_tokens=1024) == 900
    assert reply_estimate(turns[:-2], max_tokens=500) == 500  # but never more than MAX_REPLY_TOKENS


def test_a_chat_without_replies_is_expected_to_need_the_longest_reply_allowed() -> None:
    assert reply_estimate([], max_tokens=1024) == 1024
    assert reply_estimate([Turn("user", "q", 5)], max_tokens=400) == 400
    assert reply_estimate([*exchange(5, 40), Turn("user", "q", 5)], max_tokens=400) == 40  # once it has one
