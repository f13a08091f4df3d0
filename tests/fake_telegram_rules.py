"""The Bot API's rules for what a message may contain, shared by the fake Telegram server's methods.

Pure functions over decoded request parameters: they return what Telegram would store or raise ``BotApiError``
with Telegram's own description.
"""

from __future__ import annotations

import html
import itertools
import json
import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")
# Values Telegram reads as strings; everything else a form field carries is JSON (numbers, booleans, objects).
_TEXT_FIELDS = frozenset({"text", "caption", "secret_token", "url", "callback_query_id", "inline_message_id", "query",
                          "title", "description", "short_description", "name", "emoji", "custom_title", "action",
                          "message_effect_id", "business_connection_id", "language_code", "ip_address", "parse_mode",
                          "photo", "document", "sticker", "audio", "video", "voice", "animation"})
_ENTITY_TYPES = frozenset({"mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number", "bold",
                           "italic", "underline", "strikethrough", "spoiler", "blockquote", "expandable_blockquote",
                           "code", "pre", "text_link", "text_mention", "custom_emoji", "date_time"})
_ADMIN_RIGHTS = ("can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
                 "can_change_info", "can_invite_users", "can_pin_messages")



class BotApiError(Exception):
    """A Bot API failure, as the fake answers it."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return JSONResponse(body, status_code=self.code)


def bad_request(reason: str) -> BotApiError:
    """A 400 with Telegram's "Bad Request: " prefix."""
    return BotApiError(400, f"Bad Request: {reason}")


def conflict(reason: str) -> BotApiError:
    """A 409, as getUpdates answers when it cannot run."""
    return BotApiError(409, f"Conflict: {reason}")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def administrator(user_id: int) -> dict[str, Any]:
    """A ChatMemberAdministrator with the usual rights."""
    return {"status": "administrator", "user": {"id": user_id, "is_bot": False, "first_name": "Admin"},
            "can_be_edited": False, "is_anonymous": False, "can_promote_members": False, "can_post_stories": False,
            "can_edit_stories": False, "can_delete_stories": False, **dict.fromkeys(_ADMIN_RIGHTS, True)}


def scope_key(scope: Mapping[str, Any] | None, language_code: str) -> str:
    """Where a command menu is kept: one per scope and language."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True) + "|" + language_code


def chat_id_of(params: dict[str, Any]) -> int:
    """The numeric chat_id (channel usernames are not modelled)."""
    chat_id = params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise bad_request("chat_id is empty")
    if not isinstance(chat_id, int):
        raise bad_request("chat not found")
    return chat_id


def content(params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The text and entities Telegram would store: markup removed, entities checked, whitespace trimmed."""
    raw = str(params.get("text") or "")
    if params.get("parse_mode") == "HTML":  # HTML is not validated, only removed, so lengths come out right
        raw = html.unescape(re.sub(r"<[^>]*>", "", raw))
    text, entities = _trimmed(raw, _checked_entities(raw, params.get("entities")))
    if not text:
        raise bad_request("message text is empty")
    if utf16_len(text) > 4096:
        raise bad_request("message is too long")
    return text, entities


def _checked_entities(text: str, entities: Any) -> list[dict[str, Any]]:
    if entities is None:
        return []
    if not isinstance(entities, list):
        raise bad_request("can't parse entities: field \"entities\" must be an Array")
    size = utf16_len(text)
    for index, entity in enumerate(entities):
        problem = _entity_problem(entity, size)
        if problem:
            raise bad_request(f"can't parse entities: entity {index} {problem}")
    return [dict(e) for e in entities]


def _entity_problem(entity: Any, size: int) -> str | None:
    if not isinstance(entity, dict) or entity.get("type") not in _ENTITY_TYPES:
        return "has an unsupported type"
    offset, length = entity.get("offset"), entity.get("length")
    if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0:
        return "has a wrong offset or length"
    if offset + length > size:
        return f"ends at {offset + length}, beyond the text of {size} UTF-16 code units"
    if entity["type"] == "text_link" and not entity.get("url"):
        return "has no URL"
    return None


def _trimmed(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram strips surrounding whitespace and shifts or clips the entities to match."""
    body = text.lstrip()
    lead = utf16_len(text) - utf16_len(body)
    body = body.rstrip()
    size, kept = utf16_len(body), []
    for entity in entities:
        start, end = max(entity["offset"] - lead, 0), min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return body, sorted(kept, key=lambda e: (e["offset"], -e["length"]))


def inline_markup(params: dict[str, Any]) -> dict[str, Any] | None:
    """Inline keyboards are kept on the message; an empty one (or none) removes the buttons."""
    markup = params.get("reply_markup")
    if not isinstance(markup, dict) or not markup.get("inline_keyboard"):
        return None
    for button in itertools.chain.from_iterable(markup["inline_keyboard"]):
        if len(str(button.get("callback_data", "")).encode()) > 64:
            raise bad_request("BUTTON_DATA_INVALID")
    return markup



async def request_params(request: Request) -> dict[str, Any]:
    """Query, form or JSON parameters, decoded the way the Bot API reads them."""
    raw: dict[str, Any] = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
        raw.update(body if isinstance(body, dict) else {})
    elif request.method == "POST":
        form = await request.form()
        raw.update({k: v for k, v in form.items() if isinstance(v, str)})
        files = [k for k, v in form.items() if not isinstance(v, str)]  # uploads: only their field names
        raw.update({"_files": files} if files else {})
    return {name: _decoded(name, value) for name, value in raw.items()}


def _decoded(name: str, value: Any) -> Any:
    if name in _TEXT_FIELDS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
