from __future__ import annotations

import codecs

from bot.documents.text import decoded, looks_binary

RUSSIAN = "Привет, мир! Это текст в старой кодировке, которую нужно распознать правильно. " * 4


def test_utf8_is_read_as_it_is_without_a_byte_order_mark_and_with_unix_line_ends() -> None:
    assert decoded(codecs.BOM_UTF8 + "naïve\r\ncafé\r".encode()) == "naïve\ncafé\n"


def test_a_legacy_charset_is_detected() -> None:
    assert decoded(RUSSIAN.encode("cp1251")) == RUSSIAN
    assert decoded("Grüße aus Köln, schöne Straße. ".encode("latin-1") * 5) == "Grüße aus Köln, schöne Straße. " * 5


def test_utf16_with_its_byte_order_mark_is_text_and_nul_bytes_otherwise_mean_binary() -> None:
    assert decoded(RUSSIAN.encode("utf-16")) == RUSSIAN
    assert looks_binary(b"PK\x03\x04\x00\x00binary") and decoded(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR") is None
    assert not looks_binary("plain".encode("utf-16"))
