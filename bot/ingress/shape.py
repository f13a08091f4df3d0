"""Which JSON the bot takes as an update: what every later step can carry and read, with the Bot API's types.

PTB's ``Update.de_json`` builds an update of almost any object (a chat id may be a string, a text a number), and the
stream hands the JSON on to whichever replica takes it, to be decoded again there. So an update is taken only when
every step after the webhook can handle it: nested no deeper than MAX_DEPTH (the JSON round trips stay far from the
recursion limit), encodable as UTF-8 (Redis refuses a lone surrogate), the fields the bot reads of the Bot API's
types with 64-bit integers, and PTB able to build an Update of it. Fields the bot does not read are left to PTB.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telegram import Bot, Update

# Telegram's updates nest about eight deep (a callback's message, its keyboard, a row, a button).
MAX_DEPTH = 32
_INT64 = range(-(2**63), 2**63)
# Unix time that datetime can hold on every platform: 1970 up to the end of year 9999.
_DATE = range(0, 253_402_300_800)


class UpdateRejected(Exception):
    """The body is JSON but not an update we can take; the message names the first problem, never a value."""


@dataclass(frozen=True)
class _Object:
    """A JSON object's known fields and their kinds; ``rest`` is the kind of every other field (None: anything)."""

    fields: Mapping[str, Kind]
    required: frozenset[str] = frozenset()
    rest: Kind | None = None


@dataclass(frozen=True)
class _Array:
    item: Kind


Kind = type[int] | type[bool] | type[str] | range | _Object | _Array


def _message(**more: Kind) -> _Object:
    return _Object({
        "message_id": int, "message_thread_id": int, "date": _DATE, "edit_date": _DATE, "chat": _CHAT, "from": _USER,
        "sender_chat": _CHAT, "is_topic_message": bool, "text": str, "caption": str, "entities": _Array(_ENTITY),
        "caption_entities": _Array(_ENTITY), "quote": _QUOTE, "forum_topic_created": _Object({}),
        "new_chat_members": _Array(_USER), "media_group_id": str, "photo": _Array(_FILE),
        **dict.fromkeys(_FILES, _FILE), **more,
    }, required=frozenset({"message_id", "date", "chat"}))


# What the handlers read of an attachment (attachments.py); a photo is an array of these, one per size.
_FILE = _Object({"file_id": str, "file_unique_id": str, "file_size": int, "width": int, "height": int,
                 "duration": int, "mime_type": str, "file_name": str},
                required=frozenset({"file_id", "file_unique_id"}))
_FILES = ("document", "voice", "audio", "video_note", "video", "animation", "sticker")
_USER = _Object({"id": int, "is_bot": bool, "first_name": str, "last_name": str, "username": str,
                 "language_code": str}, required=frozenset({"id", "is_bot", "first_name"}))
_CHAT = _Object({"id": int, "type": str, "title": str, "username": str, "first_name": str, "last_name": str,
                 "is_forum": bool}, required=frozenset({"id", "type"}))
_ENTITY = _Object({"type": str, "offset": int, "length": int, "user": _USER, "url": str},
                  required=frozenset({"type", "offset", "length"}))
_QUOTE = _Object({"text": str, "position": int, "entities": _Array(_ENTITY)}, required=frozenset({"text"}))
# A reply's message never holds a further reply (Bot API), so one level of nesting describes every message.
_MESSAGE = _message(reply_to_message=_message(), pinned_message=_message())
_CALLBACK_QUERY = _Object({"id": str, "from": _USER, "chat_instance": str, "data": str, "message": _MESSAGE,
                           "inline_message_id": str, "game_short_name": str},
                          required=frozenset({"id", "from", "chat_instance"}))
# Every other kind of update: who sent it and in which chat is what the gate reads of them.
_OTHER = _Object({"from": _USER, "user": _USER, "chat": _CHAT, "actor_chat": _CHAT, "voter_chat": _CHAT})
_MESSAGES = ("message", "edited_message", "channel_post", "edited_channel_post", "business_message",
             "edited_business_message")
_UPDATE = _Object({"update_id": int, "callback_query": _CALLBACK_QUERY, **dict.fromkeys(_MESSAGES, _MESSAGE)},
                  required=frozenset({"update_id"}), rest=_OTHER)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether a JSON value nests deeper than ``limit``, found without recursing (it may be thousands deep)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def check_update(data: Any, bot: Bot) -> None:
    """Return if ``data`` can be taken as an update; raise UpdateRejected otherwise."""
    if not isinstance(data, dict):
        raise UpdateRejected("not an object")
    if _deeper_than(data, MAX_DEPTH):
        raise UpdateRejected(f"nested deeper than {MAX_DEPTH}")
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError as exc:
        raise UpdateRejected("a string is not Unicode text (a lone surrogate)") from exc
    _check(data, _UPDATE, "update")
    try:
        Update.de_json(data, bot)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError, IndexError) as exc:
        raise UpdateRejected(f"not a Telegram update ({type(exc).__name__})") from exc


def _check(value: Any, kind: Kind, path: str) -> None:
    if isinstance(kind, _Object):
        _check_object(value, kind, path)
    elif isinstance(kind, _Array):
        if not isinstance(value, list):
            raise UpdateRejected(f"{path}: not an array")
        for item in value:
            _check(item, kind.item, f"{path}[]")
    elif kind is int or isinstance(kind, range):
        bounds = kind if isinstance(kind, range) else _INT64
        if not isinstance(value, int) or isinstance(value, bool) or value not in bounds:
            raise UpdateRejected(f"{path}: not an integer from {bounds.start} to {bounds.stop - 1}")
    elif not isinstance(value, kind):
        raise UpdateRejected(f"{path}: not a {kind.__name__}")


def _check_object(value: Any, kind: _Object, path: str) -> None:
    if not isinstance(value, dict):
        raise UpdateRejected(f"{path}: not an object")
    for name in sorted(kind.required):
        if value.get(name) is None:
            raise UpdateRejected(f"{path}.{name}: missing")
    for name, item in value.items():
        known = kind.fields.get(name)
        if item is None:  # null stands for an absent optional field
            continue
        if known is not None:
            _check(item, known, f"{path}.{name}")
        elif kind.rest is not None:
            _check(item, kind.rest, f"{path}.*")  # a name we do not know is the sender's text: not logged
