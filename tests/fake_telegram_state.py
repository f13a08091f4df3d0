"""What the fake Bot API holds (chats, the bot's messages, drafts, menus, webhook) and the methods that change it.

``BotApiState.handle`` runs one Bot API method on decoded parameters; the caller holds ``lock``.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fake_telegram_rules import (
    NOT_MODIFIED,
    BotApiError,
    administrator,
    bad_request,
    chat_id_of,
    content,
    inline_markup,
    scope_key,
)

_CHAT_ACTIONS = frozenset({"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
                           "upload_document", "choose_sticker", "find_location", "record_video_note",
                           "upload_video_note"})


@dataclass
class BotMessage:
    """One of the bot's messages as a user sees it now, with every text it has shown."""

    message_id: int
    chat_id: int
    text: str
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    thread_id: int | None
    reply_to: int | None
    history: list[tuple[float, str]] = field(default_factory=list)
    deleted: bool = False
    date: int = 0

    @property
    def changes(self) -> list[float]:
        """When the message was sent and each time it was edited (monotonic)."""
        return [at for at, _ in self.history]


@dataclass(frozen=True)
class StoredFile:
    """A file users sent the bot: what getFile reports and what its download serves."""

    file_id: str
    data: bytes
    file_path: str
    file_size: int | None  # what getFile reports; None leaves it out (Telegram may), else the real size by default


# getFile refuses files over 20 MB: bots cannot download them from the Bot API.
DOWNLOAD_LIMIT = 20 * 1024 * 1024


@dataclass(frozen=True)
class Draft:
    """One sendMessageDraft call: a partial message streamed to a private chat."""

    chat_id: int
    draft_id: int
    text: str
    entities: list[dict[str, Any]]
    thread_id: int | None
    at: float


class BotApiState:
    """The Bot API's side of one bot: every ``_api_<method>`` answers that method like Telegram does."""

    def __init__(self, token: str, username: str, first_name: str) -> None:
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.username = username
        self.first_name = first_name
        self.administrators: dict[int, list[int]] = {}
        self.webhook: dict[str, Any] = {"url": ""}
        # What getWebhookInfo reports about deliveries: Telegram's last failed one, and a backlog size that
        # overrides the count of queued getUpdates updates (webhook deliveries are not modelled).
        self.webhook_error: tuple[int, str] | None = None
        self.webhook_pending: int | None = None
        self.lock = threading.RLock()
        self._shown: dict[int, dict[int, BotMessage]] = {}
        self._incoming: dict[tuple[int, int], dict[str, Any]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._drafts: list[Draft] = []
        self._commands: dict[str, list[dict[str, Any]]] = {}
        self._profile: dict[tuple[str, str], str] = {}  # ("description" | "short_description", language_code)
        self._updates: list[dict[str, Any]] = []
        self._files: dict[str, StoredFile] = {}
        self._next_message_id: dict[int, itertools.count[int]] = {}
        self._handlers = {name[5:].lower(): getattr(self, name) for name in dir(self) if name.startswith("_api_")}

    def handle(self, method: str, params: dict[str, Any]) -> Any:
        """Run a Bot API method (any letter case); methods the fake does not model just answer True."""
        handler = self._handlers.get(method.lower())
        return handler(params) if handler else True

    def _api_getMe(self, params: dict[str, Any]) -> Any:  # noqa: N802 - Bot API method names
        return {**self._me(), "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}

    def _api_setWebhook(self, params: dict[str, Any]) -> Any:  # noqa: N802
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if "secret_token" in params and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(params["secret_token"])):
            raise bad_request("bad webhook: secret token contains unallowed characters")
        self.webhook = {**params, "url": url}
        self._drop_pending(params)
        return True

    def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:  # noqa: N802
        self.webhook = {"url": ""}
        self._drop_pending(params)
        return True

    def _drop_pending(self, params: dict[str, Any]) -> None:
        if params.get("drop_pending_updates"):
            self._updates.clear()

    def _api_getWebhookInfo(self, params: dict[str, Any]) -> Any:  # noqa: N802
        url = self.webhook.get("url", "")
        pending = len(self._updates) if self.webhook_pending is None else self.webhook_pending
        info: dict[str, Any] = {"url": url, "has_custom_certificate": bool(self.webhook.get("certificate")),
                                "pending_update_count": pending}
        if url:  # Telegram leaves these out without a webhook (getUpdates mode)
            info["max_connections"] = self.webhook.get("max_connections") or 40
            info |= {k: v for k, v in self.webhook.items() if k in ("allowed_updates", "ip_address")}
        if self.webhook_error:
            info["last_error_date"], info["last_error_message"] = self.webhook_error
        return info

    def _api_setMyCommands(self, params: dict[str, Any]) -> Any:  # noqa: N802
        commands = params.get("commands") or []
        if not all(re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command"))) for c in commands):
            raise bad_request("BOT_COMMAND_INVALID")
        menu = [{"command": c["command"], "description": c.get("description", "")} for c in commands]
        self._commands[scope_key(params.get("scope"), _language_code(params))] = menu
        return True

    def _api_setMyDescription(self, params: dict[str, Any]) -> Any:  # noqa: N802
        return self._set_profile("description", params, 512)

    def _api_getMyDescription(self, params: dict[str, Any]) -> Any:  # noqa: N802
        return {"description": self._profile.get(("description", params.get("language_code", "")), "")}

    def _api_setMyShortDescription(self, params: dict[str, Any]) -> Any:  # noqa: N802
        return self._set_profile("short_description", params, 120)

    def _api_getMyShortDescription(self, params: dict[str, Any]) -> Any:  # noqa: N802
        return {"short_description": self._profile.get(("short_description", params.get("language_code", "")), "")}

    def _set_profile(self, kind: str, params: dict[str, Any], limit: int) -> bool:
        text = str(params.get(kind) or "")
        if len(text) > limit:
            raise bad_request(f"{kind.upper()}_TOO_LONG")
        self._profile[(kind, _language_code(params))] = text
        return True

    def _api_getMyCommands(self, params: dict[str, Any]) -> Any:  # noqa: N802
        return list(self._commands.get(scope_key(params.get("scope"), params.get("language_code", "")), []))

    def _api_deleteMyCommands(self, params: dict[str, Any]) -> Any:  # noqa: N802
        self._commands.pop(scope_key(params.get("scope"), params.get("language_code", "")), None)
        return True

    def _api_sendMessage(self, params: dict[str, Any]) -> Any:  # noqa: N802
        chat_id = chat_id_of(params)
        text, entities = content(params)
        shown = BotMessage(self._new_message_id(chat_id), chat_id, text, entities, inline_markup(params),
                           params.get("message_thread_id") or None, self._reply_target(chat_id, params),
                           [(time.monotonic(), text)], date=int(time.time()))
        self._shown.setdefault(chat_id, {})[shown.message_id] = shown
        return self._message_json(shown)

    def _api_editMessageText(self, params: dict[str, Any]) -> Any:  # noqa: N802
        shown = self._editable(params)
        text, entities = content(params)
        markup = inline_markup(params)
        if (shown.text, shown.entities, shown.reply_markup) == (text, entities, markup):
            raise BotApiError(400, NOT_MODIFIED)
        shown.text, shown.entities, shown.reply_markup = text, entities, markup
        shown.history.append((time.monotonic(), text))
        return self._message_json(shown, edited=True)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:  # noqa: N802
        shown = self._editable(params)
        markup = inline_markup(params)
        if markup == shown.reply_markup:
            raise BotApiError(400, NOT_MODIFIED)
        shown.reply_markup = markup
        return self._message_json(shown, edited=True)

    def _api_deleteMessage(self, params: dict[str, Any]) -> Any:  # noqa: N802
        chat_id, message_id = chat_id_of(params), params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        shown = self._shown.get(chat_id, {}).get(message_id)
        if shown and not shown.deleted:
            shown.deleted = True
        elif self._incoming.pop((chat_id, message_id), None) is None:
            raise bad_request("message to delete not found")
        return True

    def _api_sendChatAction(self, params: dict[str, Any]) -> Any:  # noqa: N802
        chat_id_of(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _api_getChatAdministrators(self, params: dict[str, Any]) -> Any:  # noqa: N802
        chat_id = chat_id_of(params)
        if chat_id > 0:
            raise bad_request("there are no administrators in the private chat")
        return [administrator(user_id) for user_id in self.administrators.get(chat_id, [])]

    def _api_getChatMember(self, params: dict[str, Any]) -> Any:  # noqa: N802
        chat_id, user_id = chat_id_of(params), params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("user_id is empty")
        if user_id in self.administrators.get(chat_id, []):
            return administrator(user_id)
        user = self._me() if user_id == self.bot_id else {"id": user_id, "is_bot": False, "first_name": "User"}
        return {"status": "member", "user": user}

    def _api_sendMessageDraft(self, params: dict[str, Any]) -> Any:  # noqa: N802
        chat_id, draft_id = chat_id_of(params), params.get("draft_id")
        if chat_id < 0:
            raise bad_request("message drafts can be sent only to private chats")
        if not isinstance(draft_id, int) or draft_id == 0:
            raise bad_request("draft_id must be non-zero")
        text, entities = content(params)
        self._drafts.append(Draft(chat_id, draft_id, text, entities, params.get("message_thread_id"), time.monotonic()))
        return True

    def _api_getFile(self, params: dict[str, Any]) -> Any:  # noqa: N802
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.file_size is not None and stored.file_size > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        found = {"file_id": stored.file_id, "file_unique_id": "u" + stored.file_id, "file_path": stored.file_path}
        return found | ({"file_size": stored.file_size} if stored.file_size is not None else {})

    # --- building Bot API objects --------------------------------------------------------------------------
    def _me(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.first_name, "username": self.username}

    def _new_message_id(self, chat_id: int) -> int:
        return next(self._next_message_id.setdefault(chat_id, itertools.count(1)))

    def _chat_json(self, chat_id: int) -> dict[str, Any]:
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Ann"}
        return {"id": chat_id, "type": "supergroup", "title": "Group"}

    def _editable(self, params: dict[str, Any]) -> BotMessage:
        chat_id, message_id = chat_id_of(params), params.get("message_id")
        shown = self._shown.get(chat_id, {}).get(message_id) if isinstance(message_id, int) else None
        if shown and not shown.deleted:
            return shown
        if (chat_id, message_id) in self._incoming:
            raise bad_request("message can't be edited")
        raise bad_request("message to edit not found")

    def _reply_target(self, chat_id: int, params: dict[str, Any]) -> int | None:
        reply = params.get("reply_parameters") or {}
        target = reply.get("message_id") or params.get("reply_to_message_id")
        if not target:
            return None
        if (chat_id, target) in self._incoming or target in self._shown.get(chat_id, {}):
            return int(target)
        if reply.get("allow_sending_without_reply") or params.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")

    def _message_json(self, shown: BotMessage, *, edited: bool = False, nested: bool = True) -> dict[str, Any]:
        chat = self._chat_json(shown.chat_id)
        body: dict[str, Any] = {"message_id": shown.message_id, "date": shown.date, "chat": chat,
                                "from": self._me(), "text": shown.text}
        if shown.entities:
            body["entities"] = shown.entities
        if shown.reply_markup:
            body["reply_markup"] = shown.reply_markup
        if shown.thread_id:
            body.update(message_thread_id=shown.thread_id, is_topic_message=bool(chat.get("is_forum")))
        if shown.reply_to and nested:
            body["reply_to_message"] = self._message_json_by_id(shown.chat_id, shown.reply_to, nested=False)
        if edited:
            body["edit_date"] = int(time.time())
        return body

    def _message_json_by_id(self, chat_id: int, message_id: int, *, nested: bool = True) -> dict[str, Any]:
        """The message as the fake knows it; unknown ones as Telegram shows inaccessible messages (date 0)."""
        shown = self._shown.get(chat_id, {}).get(message_id)
        if shown:
            return self._message_json(shown, nested=nested)
        incoming = self._incoming.get((chat_id, message_id))
        if incoming:
            return {k: v for k, v in incoming.items() if k != "reply_to_message"}
        return {"message_id": message_id, "date": 0, "chat": self._chat_json(chat_id)}


def _language_code(params: dict[str, Any]) -> str:
    """A two-letter ISO 639-1 code or none, as Telegram accepts for menus and profile texts."""
    code = str(params.get("language_code") or "")
    if not re.fullmatch(r"([a-z]{2})?", code):
        raise bad_request("invalid language code specified")
    return code
