"""Text files in whatever charset they come in: UTF-8 when they are, else the charset charset-normalizer detects."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

# A file with NUL bytes in its first few kilobytes is binary (UTF-16 text starts with a byte-order mark).
_SNIFF = 8192
_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


def decoded(data: bytes) -> str | None:
    """The file's text, or None when it does not read as text in any charset."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return _tidy(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:_SNIFF] and not data.startswith(_BOMS):
        return None
    best = from_bytes(data).best()
    return None if best is None else _tidy(str(best))


def looks_binary(data: bytes) -> bool:
    """Whether a file of unknown type is binary (NUL bytes early on, without a UTF-16/32 byte-order mark)."""
    return b"\x00" in data[:_SNIFF] and not data.startswith(_BOMS)


def _tidy(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
