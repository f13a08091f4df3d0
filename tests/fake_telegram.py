"""A fake Bot API server that answers like Telegram: results, 400s, 401, 429 with retry_after, 4096 limit."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.http_fake import ThreadedServer

_JSON_FIELDS = ("entities", "reply_markup", "reply_parameters", "allowed_updates", "commands", "scope",
                "caption_entities", "link_preview_options")
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")


class BotApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


@dataclass
class Call:
    """One Bot API request as the fake received it."""

    method: str
    params: dict[str, Any]
    at: float


@dataclass
class Shown:
    """One of the bot's messages as a user sees it, with the times it changed."""

    message_id: int
    chat_id: int
    text: str
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    thread_id: int | None
    reply_to: int | None
    changes: list[float] = field(default_factory=list)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram:
    """Bot API methods at ``{url}/bot{token}/{method}``; what the bot sent is inspectable from the test."""

    def __init__(self, token: str, username: str = "test_bot") -> None:
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.username = username
        self.calls: list[Call] = []
        self.admins: dict[int, list[int]] = {}
        self.webhook: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._messages: dict[tuple[int, int], Shown] = {}
        self._next_id = itertools.count(1000)
        self._failures: list[tuple[str, BotApiError]] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._server = ThreadedServer(Starlette(routes=[Route("/bot{token}/{method}", self._endpoint,
                                                             methods=["GET", "POST"])]))

    @property
    def url(self) -> str:
        return self._server.root

    def __enter__(self) -> Self:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(None, None, None)

    # --- what tests set up and read -----------------------------------------------------------------------
    def fail_next(self, method: str, code: int = 429, description: str = "", retry_after: int = 1,
                  times: int = 1) -> None:
        """The next ``times`` calls of ``method`` fail like Telegram would."""
        text = description or (f"Too Many Requests: retry after {retry_after}" if code == 429 else "Bad Request")
        for _ in range(times):
            self._failures.append((method, BotApiError(code, text, retry_after if code == 429 else None)))

    def calls_of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def messages(self, chat_id: int) -> list[Shown]:
        """The bot's messages in a chat, oldest first, as they look now."""
        with self._lock:
            return sorted((m for (c, _), m in self._messages.items() if c == chat_id), key=lambda m: m.message_id)

    def texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.messages(chat_id)]

    def make_update(self, text: str, *, chat_id: int = 42, user_id: int | None = None, chat_type: str = "private",
                    first_name: str = "Ann", **message: Any) -> dict[str, Any]:
        """An incoming message update, with a bot_command entity when the text starts with a command."""
        user = {"id": user_id or (chat_id if chat_id > 0 else 7), "is_bot": False, "first_name": first_name}
        entities = list(message.pop("entities", []))
        if text.startswith("/"):
            entities.insert(0, {"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
        body = {"message_id": next(self._next_id), "date": int(time.time()), "text": text,
                "chat": {"id": chat_id, "type": chat_type, **({"title": "Group"} if chat_id < 0 else {})},
                "from": user, **({"entities": entities} if entities else {}), **message}
        return {"update_id": next(self._update_ids), "message": body}

    def make_callback(self, data: str, *, chat_id: int, user_id: int, message_id: int) -> dict[str, Any]:
        message = {"message_id": message_id, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                   "from": self._me(), "text": "…"}
        query = {"id": str(next(self._next_id)), "from": {"id": user_id, "is_bot": False, "first_name": "U"},
                 "chat_instance": "1", "data": data, "message": message}
        return {"update_id": next(self._update_ids), "callback_query": query}

    def queue_update(self, update: dict[str, Any]) -> None:
        """For getUpdates (polling mode)."""
        with self._lock:
            self._updates.append(update)

    # --- the Bot API --------------------------------------------------------------------------------------
    async def _endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        method = request.path_params["method"]
        params = await _params(request)
        with self._lock:
            self.calls.append(Call(method, params, time.monotonic()))
            try:
                self._maybe_fail(method)
                result = self._answer(method, params)
            except BotApiError as exc:
                body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
                if exc.retry_after is not None:
                    body["parameters"] = {"retry_after": exc.retry_after}
                return JSONResponse(body, status_code=exc.code)
        return JSONResponse({"ok": True, "result": result})

    def _maybe_fail(self, method: str) -> None:
        for index, (failing, error) in enumerate(self._failures):
            if failing == method:
                del self._failures[index]
                raise error

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        handler = getattr(self, f"_api_{method}", None)
        return handler(params) if handler else True

    def _me(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Test", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    def _api_getMe(self, params: dict[str, Any]) -> Any:  # noqa: N802 - Bot API method names
        return self._me()

    def _api_setWebhook(self, params: dict[str, Any]) -> Any:  # noqa: N802
        self.webhook = params
        return True

    def _api_getMyCommands(self, params: dict[str, Any]) -> Any:  # noqa: N802
        return []

    def _api_getChatAdministrators(self, params: dict[str, Any]) -> Any:  # noqa: N802
        ids = self.admins.get(int(params["chat_id"]), [])
        return [{"status": "administrator", "user": {"id": i, "is_bot": False, "first_name": "Admin"},
                 "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
                 "can_delete_messages": True, "can_manage_video_chats": True, "can_restrict_members": True,
                 "can_promote_members": False, "can_change_info": True, "can_invite_users": True,
                 "can_post_stories": False, "can_edit_stories": False, "can_delete_stories": False}
                for i in ids]

    def _api_getUpdates(self, params: dict[str, Any]) -> Any:  # noqa: N802
        offset = int(params.get("offset", 0))
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        return list(self._updates)

    def _api_sendMessage(self, params: dict[str, Any]) -> Any:  # noqa: N802
        chat_id, text = int(params["chat_id"]), str(params.get("text", ""))
        entities = _validated(text, params.get("entities"))
        reply = params.get("reply_parameters") or {}
        thread = params.get("message_thread_id")
        shown = Shown(next(self._next_id), chat_id, text, entities, params.get("reply_markup"),
                      int(thread) if thread else None, reply.get("message_id"), [time.monotonic()])
        self._messages[(chat_id, shown.message_id)] = shown
        return self._message_json(shown)

    def _api_editMessageText(self, params: dict[str, Any]) -> Any:  # noqa: N802
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self._messages:
            raise BotApiError(400, "Bad Request: message to edit not found")
        shown, text = self._messages[key], str(params.get("text", ""))
        entities = _validated(text, params.get("entities"))
        markup = params.get("reply_markup")
        if (shown.text, shown.entities, shown.reply_markup) == (text, entities, markup):
            raise BotApiError(400, NOT_MODIFIED)
        shown.text, shown.entities, shown.reply_markup = text, entities, markup
        shown.changes.append(time.monotonic())
        return self._message_json(shown)

    def _message_json(self, shown: Shown) -> dict[str, Any]:
        chat_type = "private" if shown.chat_id > 0 else "supergroup"
        body: dict[str, Any] = {"message_id": shown.message_id, "date": int(time.time()), "text": shown.text,
                                "chat": {"id": shown.chat_id, "type": chat_type}, "from": self._me()}
        if shown.entities:
            body["entities"] = shown.entities
        if shown.reply_markup:
            body["reply_markup"] = shown.reply_markup
        if shown.thread_id:
            body["message_thread_id"] = shown.thread_id
        return body


def _validated(text: str, entities: Any) -> list[dict[str, Any]]:
    if not text.strip():
        raise BotApiError(400, "Bad Request: message text is empty")
    if utf16_len(text) > 4096:
        raise BotApiError(400, "Bad Request: message is too long")
    for entity in entities or []:
        if entity["offset"] < 0 or entity["offset"] + entity["length"] > utf16_len(text):
            raise BotApiError(400, "Bad Request: can't parse entities: entity is out of the text")
    return list(entities or [])


async def _params(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        raw: dict[str, Any] = await request.json()
    else:
        raw = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    for name in _JSON_FIELDS:
        if isinstance(raw.get(name), str):
            raw[name] = json.loads(raw[name])
    return raw
