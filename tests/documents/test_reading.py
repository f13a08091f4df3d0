from __future__ import annotations

import pytest

from bot.documents.reading import DEFAULT_QUESTION, Portion, Reading, framed, read_document
from bot.domain.tokens import TokenCounter
from bot.errors import EmptyDocument, NoTextLayer, UnsupportedDocument
from tests.document_samples import pdf, word

COUNTER = TokenCounter("gpt-4o-mini")
PAGE = "lorem ipsum dolor sit amet " * 8  # about 50 tokens


def test_a_pdf_within_the_limit_is_read_whole_with_its_page_numbers() -> None:
    reading = read_document("r.pdf", "application/pdf", pdf("Alpha", "Beta"), COUNTER, 8000)
    assert reading == Reading("r.pdf", "[Page 1]\nAlpha\n\n[Page 2]\nBeta")


def test_a_long_pdf_is_cut_at_whole_pages_and_says_how_many() -> None:
    reading = read_document("r.pdf", None, pdf(*[PAGE] * 40), COUNTER, 12 * COUNTER.count(f"[Page 10]\n{PAGE}"))
    assert reading.portion == Portion(12, 40, pages=True)
    assert "[Page 12]" in reading.text and "[Page 13]" not in reading.text


def test_a_first_page_longer_than_the_limit_is_read_in_part() -> None:
    reading = read_document("r.pdf", None, pdf(PAGE, PAGE), COUNTER, 20)
    assert reading.portion == Portion(0, 2, pages=True)
    assert 0 < COUNTER.count(reading.text) <= 24 and reading.text.startswith("[Page 1]")
    assert "(part of page 1 of 2)" in framed(reading, None)


def test_a_scanned_pdf_has_no_text_layer() -> None:
    with pytest.raises(NoTextLayer):
        read_document("scan.pdf", "application/pdf", pdf("", "", ""), COUNTER, 8000)


def test_a_long_text_is_cut_at_the_limit_and_says_what_share_was_read() -> None:
    text = "word " * 10_000
    reading = read_document("a.txt", "text/plain", text.encode(), COUNTER, 1000)
    assert reading.portion == Portion(len(reading.text) * 100 // len(text), 100, pages=False)
    assert 990 <= COUNTER.count(reading.text) <= 1004 and text.startswith(reading.text)


def test_word_documents_and_text_files_of_unknown_type_are_read() -> None:
    assert read_document("m.docx", None, word("Hello", "World"), COUNTER, 100).text == "Hello\nWorld"
    assert read_document("notes", None, b"just text", COUNTER, 100).text == "just text"


def test_binary_files_are_refused_naming_their_type_and_empty_ones_are_empty() -> None:
    with pytest.raises(UnsupportedDocument) as refused:
        read_document("a.zip", "application/zip", b"PK\x03\x04\x00\x00", COUNTER, 100)
    assert refused.value.kind == "application/zip"
    with pytest.raises(EmptyDocument):
        read_document("blank.txt", "text/plain", b" \n ", COUNTER, 100)


def test_the_turn_frames_the_text_with_the_name_and_asks_the_caption_or_for_a_summary() -> None:
    reading = Reading("q3.pdf", "Revenue rose.", Portion(12, 40, pages=True))
    assert framed(reading, "What rose?") == (
        '[Document "q3.pdf" (the first 12 of 40 pages)]\nRevenue rose.\n[End of document]\n\nWhat rose?')
    assert framed(Reading("a.txt", "x"), "  ").endswith("\n\n" + DEFAULT_QUESTION)
