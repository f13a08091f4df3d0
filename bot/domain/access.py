"""Who may talk to the bot: ALLOWED_USER_IDS and ALLOWED_CHAT_IDS."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Allowlist:
    """ALLOWED_USER_IDS and ALLOWED_CHAT_IDS: a listed user may use the bot anywhere, everyone may use it in
    a listed chat; with both lists empty everyone may."""

    users: frozenset[int] = frozenset()
    chats: frozenset[int] = frozenset()

    @property
    def open(self) -> bool:
        """Both lists empty: everyone may use the bot."""
        return not self.users and not self.chats

    def permits(self, user_id: int | None, chat_id: int | None) -> bool:
        """Whether this user in this chat (None: an update without one) may use the bot, whatever they send."""
        if self.open:
            return True
        return (chat_id is not None and chat_id in self.chats) or (user_id is not None and user_id in self.users)
