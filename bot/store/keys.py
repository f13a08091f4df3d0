"""Every Redis key name the bot uses, under one prefix per bot (so bots may share a Redis).

Keys in braces are Redis Cluster hash tags: all keys of one chat share a slot (so one script or MULTI may touch
them together), and the update stream shares one with its seen-markers and chat lines. Every key has a TTL
except the update stream, which is trimmed by length, and the operators' ban and allow lists, which hold until
an operator changes them. docs/ARCHITECTURE.md's key table is this file as a table.
"""

from __future__ import annotations

from bot.domain.chat import ChatKey


class Keys:
    """Key names under ``prefix`` (``tg:<bot id>``)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def _chat(self, chat: ChatKey, part: str) -> str:
        return f"{self.prefix}:chat:{{{chat}}}:{part}"

    def turns(self, chat: ChatKey) -> str:
        """List of the chat's turns (JSON)."""
        return self._chat(chat, "turns")

    def summary(self, chat: ChatKey) -> str:
        """The chat's running summary (JSON)."""
        return self._chat(chat, "summary")

    def persona(self, chat: ChatKey) -> str:
        """The chat's persona choice (JSON)."""
        return self._chat(chat, "persona")

    def lock(self, chat: ChatKey) -> str:
        """The chat's turn lock: one turn at a time across replicas."""
        return self._chat(chat, "lock")

    def notice(self, chat: ChatKey, kind: str, day: str) -> str:
        """A note told in the chat today, not to be told again before tomorrow (``images``: the model reads none)."""
        return self._chat(chat, f"notice:{kind}:{day}")

    def done(self, update_id: int | str) -> str:
        """Marks an answered update, so a replica that claims it after a crash does not answer again."""
        return f"{self.prefix}:done:{update_id}"

    @property
    def stream(self) -> str:
        """The update stream every replica consumes (consumer group ``bot``)."""
        return f"{self.prefix}:{{updates}}"

    def seen(self, update_id: int) -> str:
        """An update already queued (Telegram may deliver one twice)."""
        return f"{self.stream}:seen:{update_id}"

    def line(self, chat: ChatKey) -> str:
        """Sorted set of a chat's unfinished stream entries, in arrival order."""
        return f"{self.stream}:line:{chat}"

    def album(self, chat: ChatKey, media_group_id: str) -> str:
        """Hash of an album's updates as they arrived, the last arrival, and which update answers each part."""
        return f"{self.stream}:album:{chat}:{media_group_id}"

    def reply(self, update_id: int) -> str:
        """An answer in flight: its chat, asker, messages sent so far, and whether Stop was pressed."""
        return f"{self.prefix}:reply:{update_id}"

    @property
    def stops(self) -> str:
        """Pub/sub channel relaying Stop presses to the replica streaming the answer."""
        return f"{self.prefix}:stops"

    def refused(self, user_id: int) -> str:
        """A stranger already told that the bot is private."""
        return f"{self.prefix}:refused:{user_id}"

    def rate(self, user_id: int) -> str:
        """Sorted set of a user's answered messages of the last 60 seconds, by time (USER_MESSAGES_PER_MINUTE)."""
        return f"{self.prefix}:rate:{user_id}"

    def slowdown(self, user_id: int) -> str:
        """A user already asked to slow down this minute."""
        return f"{self.prefix}:slowdown:{user_id}"

    def group_administrators(self, chat_id: int) -> str:
        """A group's administrators, cached for a few minutes."""
        return f"{self.prefix}:administrators:{chat_id}"

    def user_budget(self, user_id: int, day: str) -> str:
        """Hash: a user's tokens spent today and each running turn's estimate (DAILY_TOKEN_BUDGET_PER_USER)."""
        return f"{self.prefix}:spend:user:{user_id}:{day}"

    def chat_budget(self, chat_id: int, day: str) -> str:
        """Hash: a chat's (all its topics') tokens spent today and running estimates (DAILY_TOKEN_BUDGET_PER_CHAT)."""
        return f"{self.prefix}:spend:chat:{{{chat_id}}}:{day}"

    def user_usage(self, user_id: int, period: str) -> str:
        """Hash of a user's tokens by model, per day (YYYYMMDD) and month (YYYYMM)."""
        return f"{self.prefix}:usage:{user_id}:{period}"

    def chat_usage(self, chat_id: int, period: str) -> str:
        """Hash of a chat's tokens by model, per day and month."""
        return f"{self.prefix}:usage:chat:{{{chat_id}}}:{period}"

    def stats(self, period: str) -> str:
        """Hash of the bot's counts per day and month for /stats: turns by outcome, tokens by model, errors."""
        return f"{self.prefix}:stats:{period}"

    def stats_users(self, period: str) -> str:
        """HyperLogLog of the users answered in a day or month (/stats)."""
        return f"{self.prefix}:stats:users:{period}"

    def stats_chats(self, period: str) -> str:
        """HyperLogLog of the chats answered in a day or month (/stats)."""
        return f"{self.prefix}:stats:chats:{period}"

    @property
    def banned(self) -> str:
        """Set of the user ids operators banned (/ban, /unban); no TTL."""
        return f"{self.prefix}:banned"

    @property
    def allowed(self) -> str:
        """Set of the user ids operators allowed on top of ALLOWED_USER_IDS (/allow, /disallow); no TTL."""
        return f"{self.prefix}:allowed"

    def group_rate(self, chat_id: object, minute: int) -> str:
        """Bot API messages to one group in one minute (Telegram's 20 a minute)."""
        return f"{self.prefix}:tg-rate:chat:{chat_id}:{minute}"

    def overall_rate(self, second: int) -> str:
        """Bot API messages of all replicas in one second (TELEGRAM_MESSAGES_PER_SECOND)."""
        return f"{self.prefix}:tg-rate:all:{second}"

    @property
    def webhook(self) -> str:
        """The fingerprint of the webhook configuration last set (URL, secret, allowed updates)."""
        return f"{self.prefix}:webhook"

    @property
    def webhook_lock(self) -> str:
        """Held by the one replica checking (and if needed setting) the webhook at start."""
        return f"{self.webhook}:lock"

    def reminders(self, chat: ChatKey) -> str:
        """Sorted set of a chat's pending reminder ids by due time (ms)."""
        return f"{self.prefix}:{{reminders}}:chat:{chat}"

    @property
    def reminders_due(self) -> str:
        """Sorted set of every pending reminder id by when it is next tried: when due, or when a claim on it lapses."""
        return f"{self.prefix}:{{reminders}}:due"

    @property
    def reminder_items(self) -> str:
        """Hash: each pending reminder's chat, asker, message to reply to, text and due time (JSON), by id."""
        return f"{self.prefix}:{{reminders}}:items"

    @property
    def reminder_claims(self) -> str:
        """Hash: the reminders being delivered, by id: the attempt and the claiming replica's token."""
        return f"{self.prefix}:{{reminders}}:claims"
