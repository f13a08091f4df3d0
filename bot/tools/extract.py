"""A fetched document as text for the model: a web page's main text (trafilatura), plain text, JSON or PDF.

Extraction parses untrusted bytes and takes CPU: callers run it in a worker thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser

from bot.domain.tools import ToolError
from bot.errors import DocumentUnreadable

_HTML = ("text/html", "application/xhtml+xml")
MAX_CHARS = 100_000  # of text extracted (the tool loop cuts results to TOOL_RESULT_MAX_TOKENS anyway)


@dataclass(frozen=True)
class Document:
    """What a URL answered: the final URL, its media type, its body (at most the size limit) and charset."""

    url: str
    media_type: str
    body: bytes
    charset: str | None = None
    truncated: bool = False  # the body went on past the size limit


def extract(document: Document) -> str:
    """The document's text; ToolError for a kind of document the bot cannot read."""
    kind = _kind(document)
    if kind in _HTML:
        return _html(_decoded(document), document.url)
    if kind == "application/pdf":
        return _pdf(document)
    if kind == "application/json" or kind.endswith("+json"):
        return _json(_decoded(document))
    if kind.startswith("text/"):
        return _decoded(document)
    raise ToolError(f"cannot read a document of type {kind[:60]}")


def _kind(document: Document) -> str:
    kind = document.media_type.lower().strip()
    if kind and kind not in ("application/octet-stream", "binary/octet-stream"):
        return kind
    start = document.body[:512].lstrip().lower()
    if start.startswith(b"%pdf"):
        return "application/pdf"
    return "text/html" if start.startswith((b"<!doctype html", b"<html")) else kind or "unknown"


def _decoded(document: Document) -> str:
    try:
        return document.body.decode(document.charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return document.body.decode("utf-8", errors="replace")


def _html(html: str, url: str) -> str:
    import trafilatura  # heavy (over a second to import): only when a page is read
    from trafilatura.metadata import extract_metadata

    text = trafilatura.extract(html, url=url, favor_recall=True, include_comments=False) or _all_text(html)
    metadata = extract_metadata(html, default_url=url)
    title = metadata.title if metadata is not None and metadata.title else None
    return f"Title: {title}\n\n{text}" if title else text


def _all_text(html: str) -> str:
    """Every text of a page too small for main-text extraction (scripts and styles left out)."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.texts).split())


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in ("script", "style", "template")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style", "template") and self._hidden > 0

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.texts.append(data)


def _pdf(document: Document) -> str:
    if document.truncated:
        raise ToolError("the PDF is larger than the 2 MB the bot reads")
    from bot.documents.pdf import PdfPages  # the reader of PDFs users send, imported with pypdf on first use

    try:
        pages = PdfPages(document.body)
    except DocumentUnreadable as exc:
        raise ToolError(f"the PDF could not be read ({exc})") from None
    texts, size = [], 0
    for text in pages.texts():  # a long PDF is read only as far as the model could be given
        texts.append(text)
        size += len(text)
        if size > MAX_CHARS:
            break
    return "\n\n".join(texts).strip()


def _json(text: str) -> str:
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=1)
    except ValueError:
        return text
