"""A fake Bot API server that answers like Telegram: results, 400s, 401, 409, 429 with retry_after, 4096 limit.

Runs in the test process on 127.0.0.1 (see ``tests.http_fake``); the bot process talks to it over HTTP. All state
sits behind one lock, so the test thread can inspect it while the server thread serves.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Self, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fake_telegram_rules import NOT_MODIFIED, BotApiError, conflict, request_params, scope_key, utf16_len
from tests.fake_telegram_state import BotApiState, BotMessage, Draft, StoredFile
from tests.http_fake import WAIT_SECONDS, ThreadedServer

__all__ = ["NOT_MODIFIED", "BotApiError", "BotMessage", "Call", "Draft", "FakeTelegram", "StoredFile", "utf16_len"]

T = TypeVar("T")
_FLOOD_COUNTED = frozenset({"sendmessage", "editmessagetext", "editmessagereplymarkup", "sendmessagedraft"})
_DESCRIPTIONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden: bot was blocked by the user",
                 404: "Not Found", 409: "Conflict", 500: "Internal Server Error", 502: "Bad Gateway"}


@dataclass(frozen=True)
class Call:
    """One Bot API request as the fake received it, its parameters decoded to Python values."""

    method: str
    params: dict[str, Any]
    at: float


class FakeTelegram(BotApiState):
    """Bot API methods at ``{url}/bot{token}/{method}``; what the bot sent is inspectable from the test."""

    def __init__(self, token: str = "123:ABC", username: str = "test_bot", first_name: str = "Test Bot",
                 long_poll_cap: float = 1.0) -> None:
        super().__init__(token, username, first_name)
        self.long_poll_cap = long_poll_cap
        self._calls: list[Call] = []
        self._failures: list[tuple[str, BotApiError]] = []
        self._flood: dict[int, int] = {}
        self._flood_log: dict[int, list[float]] = {}
        self._polls = 0
        self._barriers: dict[str, int] = {}
        self._arrivals: dict[str, int] = {}
        self._everyone: dict[str, asyncio.Event] = {}
        self._latency: dict[str, float] = {}
        self._down = False
        self._storm: tuple[float, int] | None = None  # until when (monotonic) messages get a 429, and its wait
        self._flood_answers: list[tuple[int, float, int]] = []
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._downloads: list[str] = []
        self._server = ThreadedServer(Starlette(routes=[
            Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
            Route("/{path:path}", _not_found, methods=["GET", "POST"]),
        ]))

    @property
    def url(self) -> str:
        """The server root, for TELEGRAM_API_URL."""
        return self._server.root

    def __enter__(self) -> Self:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(None, None, None)

    # --- scripting -----------------------------------------------------------------------------------------
    def fail_next(self, method: str, status: int = 429, *, retry_after: int = 1, times: int = 1,
                  description: str | None = None, code: int | None = None) -> None:
        """The next ``times`` calls of ``method`` fail like Telegram would (``code`` is the older name of status)."""
        status = code or status
        text = description or (f"Too Many Requests: retry after {retry_after}" if status == 429
                               else _DESCRIPTIONS.get(status, "Bad Request"))
        error = BotApiError(status, text, retry_after if status == 429 else None)
        with self.lock:
            self._failures.extend([(method.lower(), error)] * times)

    def flood_limit(self, chat_id: int, per_minute: int = 20) -> None:
        """Answer 429 once the bot sends or edits more than ``per_minute`` messages a minute in the chat."""
        with self.lock:
            self._flood[chat_id] = per_minute

    def barrier(self, method: str, parties: int) -> None:
        """Hold calls of ``method`` until ``parties`` of them have arrived, then answer them all at once (so
        replicas launched together reach the next step of their start-up at the same moment)."""
        with self.lock:
            self._barriers[method.lower()] = parties

    def slow_down(self, method: str, seconds: float) -> None:
        """Answer calls of ``method`` only after ``seconds``, as a Bot API under load would."""
        with self.lock:
            self._latency[method.lower()] = seconds

    def go_down(self) -> None:
        """The Bot API becomes unreachable: every call hangs (a client's timeout ends it) and is not performed."""
        with self.lock:
            self._down = True

    def come_back(self) -> None:
        """Reachable again; calls still hanging get a 502 from the proxy in front, still not performed."""
        with self.lock:
            self._down = False

    def flood_storm(self, seconds: float, retry_after: int) -> None:
        """For ``seconds`` from now, every send and edit answers 429 with ``retry_after``."""
        with self.lock:
            self._storm = (time.monotonic() + seconds, retry_after)

    def flood_answers(self, chat_id: int) -> list[tuple[float, int]]:
        """When the fake answered 429 to a call for the chat (monotonic), and the retry_after it gave."""
        with self.lock:
            return [(at, wait) for chat, at, wait in self._flood_answers if chat == chat_id]

    def set_administrators(self, chat_id: int, *user_ids: int) -> None:
        """The administrators getChatAdministrators lists for a group."""
        with self.lock:
            self.administrators[chat_id] = list(user_ids)

    def set_webhook_elsewhere(self, url: str = "", **params: Any) -> None:
        """Someone else with the token changes the webhook (``url`` empty: deleteWebhook, as a laptop that
        long-polls does); not recorded among the bot's calls."""
        with self.lock:
            self.handle("setWebhook" if url else "deleteWebhook", {**params, "url": url})

    def webhook_trouble(self, last_error_message: str | None = None, *, last_error_date: int | None = None,
                        pending_update_count: int | None = None) -> None:
        """What getWebhookInfo reports about deliveries: the last failed one (now unless ``last_error_date``)
        and how many updates Telegram is holding."""
        with self.lock:
            self.webhook_error = None if last_error_message is None else (
                last_error_date or int(time.time()), last_error_message)
            self.webhook_pending = pending_update_count

    def add_file(self, data: bytes, *, file_path: str | None = None, file_size: int | None = -1,
                 file_id: str | None = None) -> str:
        """A file a user sent: getFile finds it by the returned file id and its download serves ``data``.
        ``file_size`` is what getFile reports (-1: the real size; None: not reported; more than 20 MB: getFile
        refuses it, as Telegram does)."""
        with self.lock:
            number = next(self._file_ids)
            file_id = file_id or f"FILE{number}-AgACAgIAAxkBAAI"
            path = file_path or f"documents/file_{number}.bin"
            self._files[file_id] = StoredFile(file_id, data, path, len(data) if file_size == -1 else file_size)
        return file_id

    def add_photo(self, *sizes: tuple[int, int, bytes]) -> list[dict[str, Any]]:
        """A message's ``photo`` field: one PhotoSize per (width, height, bytes), each its own file, smallest first."""
        photo = []
        for width, height, data in sorted(sizes, key=lambda s: s[0] * s[1]):
            file_id = self.add_file(data, file_path=f"photos/file_{next(self._file_ids)}.jpg")
            photo.append({"file_id": file_id, "file_unique_id": "u" + file_id, "width": width, "height": height,
                          "file_size": len(data)})
        return photo

    def queue_update(self, update: dict[str, Any]) -> None:
        """Deliver ``update`` through getUpdates (polling mode)."""
        with self.lock:
            self._updates.append(update)

    def clear(self) -> None:
        """Forget recorded calls, drafts, messages, queued updates and failures; ids keep counting."""
        with self.lock:
            for record in (self._calls, self._drafts, self._shown, self._updates, self._failures):
                record.clear()

    # --- inspection ----------------------------------------------------------------------------------------
    @property
    def calls(self) -> list[Call]:
        """Every authorised request so far, oldest first."""
        with self.lock:
            return list(self._calls)

    def calls_of(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self._calls if c.method.lower() == method.lower()]

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[BotMessage]:
        """The bot's messages in a chat, oldest first, as they look now (copies)."""
        with self.lock:
            shown = self._shown.get(chat_id, {}).values()
            return [replace(m, entities=list(m.entities), history=list(m.history))
                    for m in shown if include_deleted or not m.deleted]

    @property
    def downloads(self) -> list[str]:
        """The file paths the bot downloaded, oldest first."""
        with self.lock:
            return list(self._downloads)

    def texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.messages(chat_id)]

    def drafts(self, chat_id: int | None = None) -> list[Draft]:
        with self.lock:
            return [d for d in self._drafts if chat_id is None or d.chat_id == chat_id]

    def commands(self, scope: Mapping[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """The command menu set for ``scope`` (the default scope when None)."""
        with self.lock:
            return list(self._commands.get(scope_key(scope, language_code), []))

    def profile(self, kind: str, language_code: str = "") -> str:
        """The bot's "description" or "short_description" set for ``language_code`` (everyone else's when empty)."""
        with self.lock:
            return self._profile.get((kind, language_code), "")

    def wait_for(self, predicate: Callable[[], T], timeout: float = WAIT_SECONDS, what: str = "condition") -> T:
        """Poll until ``predicate()`` is truthy and return its value; fail the test with ``what`` otherwise."""
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02)
        return value

    # --- incoming updates ----------------------------------------------------------------------------------
    def make_update(self, text: str | None, *, chat_id: int = 42, user_id: int | None = None,
                    chat_type: str = "private", first_name: str = "Ann", username: str | None = None,
                    language_code: str | None = None, **message: Any) -> dict[str, Any]:
        """An incoming message update; extra message fields come from ``message`` (``reply_to_message`` may be
        an id). A text starting with ``/`` gets its bot_command entity; ``None`` leaves the text field out."""
        user = {"id": user_id or (chat_id if chat_id > 0 else 7), "is_bot": False, "first_name": first_name}
        user |= {"username": username} if username else {}
        user |= {"language_code": language_code} if language_code else {}
        chat = _chat(chat_id, chat_type, first_name, forum=bool(message.get("message_thread_id")))
        entities = list(message.pop("entities", []))
        if text and text.startswith("/"):
            entities.insert(0, {"type": "bot_command", "offset": 0, "length": utf16_len(text.split()[0])})
        content = ({"text": text} if text is not None else {}) | ({"entities": entities} if entities else {})
        with self.lock:
            self._chats[chat_id] = chat
            if isinstance(message.get("reply_to_message"), int):
                message["reply_to_message"] = self._message_json_by_id(chat_id, message["reply_to_message"])
            body = {"message_id": self._new_message_id(chat_id), "date": int(time.time()), "chat": chat,
                    "from": user, **content, **message}
            self._incoming[(chat_id, body["message_id"])] = body
        return {"update_id": next(self._update_ids), "message": body}

    def make_callback_update(self, data: str, *, chat_id: int, user_id: int, message_id: int,
                             first_name: str = "Ann") -> dict[str, Any]:
        """A button press on ``message_id`` (the bot's message as it looks now, when the fake knows it)."""
        with self.lock:
            message = self._message_json_by_id(chat_id, message_id)
        query = {"id": str(next(self._query_ids)), "from": {"id": user_id, "is_bot": False, "first_name": first_name},
                 "chat_instance": str(chat_id), "data": data, "message": message}
        return {"update_id": next(self._update_ids), "callback_query": query}

    make_callback = make_callback_update

    # --- serving -------------------------------------------------------------------------------------------
    async def _endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return BotApiError(401, "Unauthorized").response()
        method, params = request.path_params["method"], await request_params(request)
        if await self._unreachable():
            return BotApiError(502, _DESCRIPTIONS[502]).response()
        with self.lock:
            self._calls.append(Call(method, params, time.monotonic()))
        await self._pass_barrier(method.lower())
        await asyncio.sleep(self._latency.get(method.lower(), 0.0))
        try:
            result = await self._perform(method.lower(), params)
        except BotApiError as exc:
            return exc.response()
        return JSONResponse({"ok": True, "result": result})

    async def _unreachable(self) -> bool:
        """Hold a call while the Bot API is down; whether it was held (then it never reached Telegram)."""
        held = False
        while self._down:  # set from the test's thread
            held = True
            await asyncio.sleep(0.02)
        return held

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return BotApiError(401, "Unauthorized").response()
        path = request.path_params["path"]
        with self.lock:
            stored = next((f for f in self._files.values() if f.file_path == path), None)
            if stored is not None:
                self._downloads.append(path)
        if stored is None:
            return BotApiError(404, "Not Found").response()
        return Response(stored.data, media_type="application/octet-stream")

    async def _pass_barrier(self, method: str) -> None:
        with self.lock:
            if method not in self._barriers:
                return
            self._arrivals[method] = arrived = self._arrivals.get(method, 0) + 1
            everyone = self._everyone.setdefault(method, asyncio.Event())  # created on the server's loop
        if arrived >= self._barriers[method]:
            everyone.set()
        await everyone.wait()

    async def _perform(self, method: str, params: dict[str, Any]) -> Any:
        with self.lock:
            self._raise_scripted(method)
            if method != "getupdates":
                self._check_flood(method, params)
                return self.handle(method, params)
            self._polls += 1
            poll = self._polls
        return await self._long_poll(params, poll)

    def _raise_scripted(self, method: str) -> None:
        for index, (failing, error) in enumerate(self._failures):
            if failing == method:
                del self._failures[index]
                raise error

    def _check_flood(self, method: str, params: dict[str, Any]) -> None:
        chat_id, now = params.get("chat_id"), time.monotonic()
        if method not in _FLOOD_COUNTED or not isinstance(chat_id, int):
            return
        if self._storm is not None and now < self._storm[0]:
            self._flood_answers.append((chat_id, now, self._storm[1]))
            raise BotApiError(429, f"Too Many Requests: retry after {self._storm[1]}", self._storm[1])
        if chat_id not in self._flood:
            return
        recent = [at for at in self._flood_log.get(chat_id, []) if at > now - 60]
        if len(recent) >= self._flood[chat_id]:
            wait = max(1, math.ceil(recent[0] + 60 - now))
            raise BotApiError(429, f"Too Many Requests: retry after {wait}", wait)
        self._flood_log[chat_id] = [*recent, now]

    async def _long_poll(self, params: dict[str, Any], poll: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), self.long_poll_cap)
        while True:
            with self.lock:
                ready = self._pending_updates(params, poll)
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.02)

    def _pending_updates(self, params: dict[str, Any], poll: int) -> list[dict[str, Any]]:
        if self.webhook.get("url"):
            raise conflict("can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
                           "webhook first")
        if self._polls != poll:
            raise conflict("terminated by other getUpdates request; make sure that only one bot instance is running")
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 100)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        return self._updates[:limit]


def _chat(chat_id: int, chat_type: str, first_name: str, *, forum: bool) -> dict[str, Any]:
    if chat_type == "private":
        return {"id": chat_id, "type": chat_type, "first_name": first_name}
    return {"id": chat_id, "type": chat_type, "title": "Group"} | ({"is_forum": True} if forum and
                                                                    chat_type == "supergroup" else {})


async def _not_found(request: Request) -> JSONResponse:
    return BotApiError(404, "Not Found").response()
