"""Which documents are refused before any download (by their stated size and type)."""

from __future__ import annotations

from typing import cast

from bot.domain.attachment import Attachment, Kind
from bot.telegram.documents import refusal
from bot.telegram.files import TelegramFiles


class Files:
    limit = 20 * 1024 * 1024


FILES = cast(TelegramFiles, Files())


def document(name: str, mime: str | None, size: int = 1000) -> Attachment:
    return Attachment(Kind.DOCUMENT, "d", size=size, mime_type=mime, file_name=name)


def test_readable_and_sniffable_documents_are_downloaded() -> None:
    for name, mime in [("a.pdf", "application/pdf"), ("b.docx", None), ("c.txt", "text/plain"),
                       ("d.py", "application/octet-stream"), ("e", None), ("f.json", "application/json")]:
        assert refusal(document(name, mime), FILES) is None, name


def test_too_large_and_plainly_binary_documents_are_refused_naming_why() -> None:
    assert "20 MB" in (refusal(document("a.pdf", "application/pdf", 25 * 2**20), FILES) or "")
    assert "(application/zip)" in (refusal(document("a.zip", "application/zip"), FILES) or "")
    assert "(video/x-matroska)" in (refusal(document("film.mkv", "video/x-matroska"), FILES) or "")
