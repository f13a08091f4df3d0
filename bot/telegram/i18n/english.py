"""The language-dependent helpers texts.py calls, in English; each language's copy of texts.py (variant.py) has
its catalog's instead."""

from __future__ import annotations


def plural(count: int, one: str, other: str) -> str:
    """``one`` or ``other`` with ``{count}`` filled in (the catalogs hold each language's own forms)."""
    return (one if count == 1 else other).format(count=count)


def packaged(text: str) -> str:
    """A text kept outside texts.py, such as a built-in persona's description: English as it stands."""
    return text
