from __future__ import annotations

import pytest

from bot.documents.pdf import PdfPages
from bot.errors import DocumentUnreadable
from tests.document_samples import pdf


def test_each_page_reads_as_its_text_layer() -> None:
    pages = PdfPages(pdf("First page", "", "Third (page)"))
    assert pages.count == 3
    assert list(pages.texts()) == ["First page", "", "Third (page)"]


def test_a_damaged_file_is_unreadable_not_a_crash() -> None:
    with pytest.raises(DocumentUnreadable):
        PdfPages(b"%PDF-1.4\n garbage that is not a PDF")
    with pytest.raises(DocumentUnreadable):
        PdfPages(pdf("fine")[:200])
