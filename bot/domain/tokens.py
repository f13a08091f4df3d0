"""Token counting with tiktoken: exact for the model's encoding, about 4 characters a token without one."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import tiktoken

logger = logging.getLogger(__name__)

# Chat formats wrap every message in a few tokens of markup (role, separators).
MESSAGE_OVERHEAD = 4
_FALLBACK_ENCODING = "o200k_base"


class TokenCounter:
    """tiktoken for the model, o200k_base for models it does not know, ~4 characters a token offline."""

    def __init__(self, model: str, loader: Callable[[str], tiktoken.Encoding | None] | None = None) -> None:
        self._model = model
        self._loader = loader or _load_encoding

    @functools.cached_property
    def _encoding(self) -> tiktoken.Encoding | None:
        # Loaded on first use, not at construction: reading an encoding takes a quarter of a second of start-up.
        return self._loader(self._model)

    def load(self) -> None:
        """Load the encoding now (a starting process does it in the background once it serves)."""
        _ = self._encoding

    def count(self, text: str) -> int:
        """Tokens of one message's text, including the per-message overhead."""
        if self._encoding is None:
            return MESSAGE_OVERHEAD + (len(text) + 3) // 4
        return MESSAGE_OVERHEAD + len(self._encoding.encode(text, disallowed_special=()))

    def prefix(self, text: str, tokens: int) -> str:
        """The longest start of ``text`` of at most ``tokens`` tokens (without the message overhead)."""
        if self._encoding is None:
            return text[: tokens * 4]
        encoded = self._encoding.encode(text, disallowed_special=())
        if len(encoded) <= tokens:
            return text
        return self._encoding.decode_bytes(encoded[:tokens]).decode("utf-8", errors="ignore")


    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest start of ``text`` whose count stays within ``max_tokens`` (the text itself when it does)."""
        if self.count(text) <= max_tokens:
            return text
        room = max(0, max_tokens - MESSAGE_OVERHEAD)
        if self._encoding is None:
            return text[: room * 4]
        return self._encoding.decode(self._encoding.encode(text, disallowed_special=())[:room])


def _load_encoding(model: str) -> tiktoken.Encoding | None:
    try:
        return tiktoken.encoding_for_model(model)
    except KeyError:
        pass
    except Exception as exc:  # tiktoken downloads encodings; offline that fails in many ways
        logger.warning("no tiktoken encoding for %s (%s); counting about 4 characters a token", model, exc)
        return None
    try:
        return tiktoken.get_encoding(_FALLBACK_ENCODING)
    except Exception as exc:
        logger.warning("no tiktoken encoding %s (%s); counting about 4 characters a token", _FALLBACK_ENCODING, exc)
        return None
