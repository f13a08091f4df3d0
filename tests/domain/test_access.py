from __future__ import annotations

import pytest

from bot.domain.access import Allowlist

ALICE, BOB, GROUP, OTHER_GROUP = 1, 2, -100, -200


@pytest.mark.parametrize(("allowlist", "user_id", "chat_id", "permitted"), [
    (Allowlist(), ALICE, ALICE, True),
    (Allowlist(), None, GROUP, True),
    (Allowlist(users=frozenset({ALICE})), ALICE, ALICE, True),
    (Allowlist(users=frozenset({ALICE})), ALICE, GROUP, True),
    (Allowlist(users=frozenset({ALICE})), BOB, BOB, False),
    (Allowlist(users=frozenset({ALICE})), BOB, GROUP, False),
    (Allowlist(users=frozenset({ALICE})), None, GROUP, False),
    (Allowlist(chats=frozenset({GROUP})), BOB, GROUP, True),
    (Allowlist(chats=frozenset({GROUP})), None, GROUP, True),
    (Allowlist(chats=frozenset({GROUP})), BOB, OTHER_GROUP, False),
    (Allowlist(chats=frozenset({GROUP})), BOB, BOB, False),
    (Allowlist(users=frozenset({ALICE}), chats=frozenset({GROUP})), BOB, GROUP, True),
    (Allowlist(users=frozenset({ALICE}), chats=frozenset({GROUP})), ALICE, OTHER_GROUP, True),
    (Allowlist(users=frozenset({ALICE}), chats=frozenset({GROUP})), BOB, OTHER_GROUP, False),
    (Allowlist(), BOB, None, True),
    (Allowlist(users=frozenset({ALICE})), ALICE, None, True),
    (Allowlist(users=frozenset({ALICE})), BOB, None, False),
    (Allowlist(chats=frozenset({GROUP})), BOB, None, False),
    (Allowlist(chats=frozenset({GROUP})), None, None, False),
])
def test_who_may_use_the_bot(allowlist: Allowlist, user_id: int | None, chat_id: int | None,
                             permitted: bool) -> None:
    assert allowlist.permits(user_id, chat_id) is permitted
