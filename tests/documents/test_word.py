from __future__ import annotations

import pytest

from bot.documents.word import docx_text
from bot.errors import DocumentUnreadable
from tests.document_samples import word


def test_paragraphs_then_table_rows_in_document_order() -> None:
    data = word("Minutes of the meeting", "Present: Ann, Bob", table=[["Item", "Owner"], ["Budget", "Ann"]])
    assert docx_text(data) == "Minutes of the meeting\nPresent: Ann, Bob\nItem | Owner\nBudget | Ann"


def test_a_file_that_is_not_a_docx_is_unreadable() -> None:
    with pytest.raises(DocumentUnreadable):
        docx_text(b"PK\x03\x04 not really a zip")
