from __future__ import annotations

from bot.telegram.pacing import Pacer

GROUP, OTHER_GROUP, PRIVATE = -100, -200, 7


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_flood_wait_blocks_only_its_chat_until_it_ends() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    pacer.block(GROUP, 30)
    assert pacer.blocked_until(GROUP) == 1030
    assert pacer.blocked_until(PRIVATE) == 0
    clock.now = 1029.9
    assert pacer.blocked_until(GROUP) == 1030
    clock.now = 1030
    assert pacer.blocked_until(GROUP) == 0


def test_a_shorter_flood_wait_does_not_cut_a_longer_one_short() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    pacer.block(PRIVATE, 30)
    clock.now = 1010
    pacer.block(PRIVATE, 5)
    assert pacer.blocked_until(PRIVATE) == 1030
    pacer.block(PRIVATE, 40)
    assert pacer.blocked_until(PRIVATE) == 1050


def test_a_group_has_twenty_calls_a_minute() -> None:
    pacer = Pacer(Clock())
    assert pacer.group_budget_left(GROUP) == 20
    for _ in range(20):
        pacer.record(GROUP, is_group=True)
    assert pacer.group_budget_left(GROUP) == 0
    assert pacer.group_budget_left(OTHER_GROUP) == 20


def test_the_group_budget_comes_back_as_calls_leave_the_sliding_minute() -> None:
    clock = Clock()
    pacer = Pacer(clock, group_calls_per_minute=5)
    for at in (1000, 1000, 1030, 1030, 1045):
        clock.now = at
        pacer.record(GROUP, is_group=True)
    assert pacer.group_budget_left(GROUP) == 0
    assert pacer.next_group_slot(GROUP) == 1060
    clock.now = 1059.9
    assert pacer.group_budget_left(GROUP) == 0
    clock.now = 1060
    assert pacer.group_budget_left(GROUP) == 2
    assert pacer.next_group_slot(GROUP) == 1090
    clock.now = 1105
    assert pacer.group_budget_left(GROUP) == 5
    assert pacer.next_group_slot(GROUP) == 0


def test_calls_to_private_chats_are_not_counted() -> None:
    pacer = Pacer(Clock())
    for _ in range(30):
        pacer.record(PRIVATE, is_group=False)
    assert pacer.group_budget_left(PRIVATE) == 20
    assert pacer.next_group_slot(PRIVATE) == 0
