"""A document read as text, cut at DOCUMENT_MAX_TOKENS, and framed with its name for the model.

PDFs are cut at whole pages ("the first 12 of 40 pages"), other documents by their share of the text. Reading is
CPU work: the Telegram side runs it in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.documents.kind import Kind, kind_of, type_name
from bot.documents.pdf import PdfPages
from bot.documents.text import decoded, looks_binary
from bot.documents.word import docx_text
from bot.domain.tokens import TokenCounter
from bot.errors import EmptyDocument, NoTextLayer, UnsupportedDocument

DEFAULT_QUESTION = "Summarise this document."
# Text files longer than this many characters a token are certainly over the limit: only their start is counted.
_MOST_CHARACTERS_PER_TOKEN = 16


@dataclass(frozen=True)
class Portion:
    """How much of a document was read: ``read`` of ``total`` pages, or (``pages`` false) percent of its text."""

    read: int
    total: int
    pages: bool


@dataclass(frozen=True)
class Reading:
    """A document's text as read; ``portion`` is None when all of it was."""

    name: str
    text: str
    portion: Portion | None = None


def read_document(name: str, mime_type: str | None, data: bytes, counter: TokenCounter, max_tokens: int) -> Reading:
    """The document's text within ``max_tokens``; raises a DocumentError saying why there is none."""
    kind = kind_of(name, mime_type)
    if kind is Kind.PDF:
        return _pdf(name, PdfPages(data), counter, max_tokens)
    if kind is Kind.DOCX:
        return _share(name, docx_text(data), counter, max_tokens)
    text = None if kind is Kind.UNKNOWN and looks_binary(data) else decoded(data)
    if text is None:
        raise UnsupportedDocument(type_name(name, mime_type))
    return _share(name, text, counter, max_tokens)


def framed(reading: Reading, question: str | None) -> str:
    """The user's turn: the document between markers naming it, then the question (the caption, else a summary)."""
    extent = ""
    if reading.portion is not None:
        part = reading.portion
        if not part.pages:
            extent = f" (the first {part.read}% of its text)"
        else:
            extent = f" (the first {part.read} of {part.total} pages)" if part.read else f" (part of page 1 of "\
                     f"{part.total})"
    head = f'[Document "{reading.name}"{extent}]'
    return f"{head}\n{reading.text}\n[End of document]\n\n{(question or '').strip() or DEFAULT_QUESTION}"


def _pdf(name: str, pages: PdfPages, counter: TokenCounter, max_tokens: int) -> Reading:
    parts: list[str] = []
    used = 0
    for number, text in enumerate(pages.texts(), 1):
        page = f"[Page {number}]\n{text.strip()}"
        tokens = counter.count(page)
        if used + tokens > max_tokens:
            return _cut_pdf(name, parts, page, counter, max_tokens - used, number - 1, pages.count)
        parts.append(page)
        used += tokens
    if not any(part.partition("\n")[2] for part in parts):
        raise NoTextLayer(f"{pages.count} page(s) without text")
    return Reading(name, "\n\n".join(parts))


def _cut_pdf(name: str, parts: list[str], page: str, counter: TokenCounter, room: int, read: int,
             total: int) -> Reading:
    """Whole pages up to the limit; when not even the first page fits, as much of it as does."""
    if parts:
        return Reading(name, "\n\n".join(parts), Portion(read, total, pages=True))
    head = counter.prefix(page, room)
    return Reading(name, head, Portion(0, total, pages=True))


def _share(name: str, text: str, counter: TokenCounter, max_tokens: int) -> Reading:
    if not text.strip():
        raise EmptyDocument(name)
    window = text[: max_tokens * _MOST_CHARACTERS_PER_TOKEN]
    head = counter.prefix(window, max_tokens)
    if len(head) >= len(text):
        return Reading(name, text)
    return Reading(name, head, Portion(max(1, len(head) * 100 // len(text)), 100, pages=False))
