"""Which language an update's texts are in: the user's Telegram ``language_code``, else the default."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

ENGLISH = "en"
# The languages with a catalog, as Telegram's IETF tags name them (English is texts.py itself).
SUPPORTED = ("en", "ru", "uk", "es", "pt", "de", "fr", "it", "tr", "pl", "hi", "id", "ar", "fa", "zh-hans")
RIGHT_TO_LEFT = frozenset({"ar", "fa"})
# Tags whose first part names no catalog of its own: old codes, and Chinese in any script or region, which reads
# simplified Chinese better than English.
_ALIASES = {"in": "id", "zh": "zh-hans"}

_current: ContextVar[str] = ContextVar("language", default=ENGLISH)


def choose(language_code: str | None, default: str) -> str:
    """The supported language for a Telegram ``language_code`` (``pt-br`` → ``pt``), ``default`` when none fits."""
    tag = (language_code or "").strip().lower().replace("_", "-")
    if tag in SUPPORTED:
        return tag
    primary = tag.partition("-")[0]
    primary = _ALIASES.get(primary, primary)
    return primary if primary in SUPPORTED else default


def current() -> str:
    """The language of the update being handled (``en`` outside of one)."""
    return _current.get()


def use(language: str) -> None:
    """Speak ``language`` for the rest of this update (its task and the tasks it starts)."""
    _current.set(language)


@contextlib.contextmanager
def speaking(language: str) -> Iterator[None]:
    """Speak ``language`` within the block (start-up work outside any update: menus, the profile)."""
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)
