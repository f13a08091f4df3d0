"""PDFs, by their text layer (pypdf): a page's text at a time, so a long PDF is read only as far as needed."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from bot.errors import DocumentUnreadable

logger = logging.getLogger(__name__)


class PdfPages:
    """The pages of a PDF; raises DocumentUnreadable for a damaged file or one locked with a password."""

    def __init__(self, data: bytes) -> None:
        try:
            self._reader = PdfReader(io.BytesIO(data))
            if self._reader.is_encrypted and not self._reader.decrypt(""):
                raise DocumentUnreadable("locked with a password")
            self.count = len(self._reader.pages)
        except (PyPdfError, ValueError, KeyError, TypeError, OSError, NotImplementedError) as exc:
            raise DocumentUnreadable(type(exc).__name__) from exc

    def texts(self) -> Iterator[str]:
        """Each page's text, in order ("" for a page without text, or one pypdf cannot parse)."""
        for number, page in enumerate(self._reader.pages, 1):
            try:
                yield page.extract_text() or ""
            except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, NotImplementedError) as exc:
                logger.info("PDF page %d not read: %s", number, type(exc).__name__)
                yield ""
