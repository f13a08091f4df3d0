"""Word documents (.docx, python-docx): paragraphs and tables in document order, a table row to a line."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import docx
from docx.document import Document
from docx.opc.exceptions import OpcError
from docx.table import Table
from docx.text.paragraph import Paragraph

from bot.errors import DocumentUnreadable


def docx_text(data: bytes) -> str:
    """The document's text; raises DocumentUnreadable for a file that is not a readable .docx."""
    try:
        document = docx.Document(io.BytesIO(data))
        return "\n".join(_lines(document))
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentUnreadable(type(exc).__name__) from exc


def _lines(document: Document) -> Iterator[str]:
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            yield block.text
        elif isinstance(block, Table):
            yield from _rows(block)


def _rows(table: Table) -> Iterator[str]:
    for row in table.rows:
        yield " | ".join(cell.text.replace("\n", " ") for cell in row.cells)
