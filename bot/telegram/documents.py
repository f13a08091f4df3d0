"""Documents (files that are not images): downloaded, read as text in a worker thread (bot/documents), framed
with their name, and answered; the caption is the question. The user is told how much of a long one was read."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from bot.documents.kind import Kind as DocumentKind
from bot.documents.kind import kind_of, type_name
from bot.documents.reading import Portion, framed, read_document
from bot.domain.attachment import Attachment, Kind
from bot.domain.outcome import Failure
from bot.errors import (
    DocumentError,
    DocumentUnreadable,
    EmptyDocument,
    FileError,
    FileTooLarge,
    NoTextLayer,
    UnsupportedDocument,
)
from bot.telegram import texts
from bot.telegram.context import BotContext
from bot.telegram.files import TelegramFiles
from bot.telegram.markdown.quote import italic
from bot.telegram.media import MediaRules, addressee, carried
from bot.telegram.sink import TelegramReplySink
from bot.telegram.turn import Declined, Prepare, answer

logger = logging.getLogger(__name__)

# Types no text can be read of, refused by their stated type before any download.
_BINARY_PREFIXES = ("image/", "video/", "audio/", "font/", "application/zip", "application/x-", "application/vnd.")


async def document(update: Update, context: BotContext) -> None:
    """A document: refused with a note, or read and answered."""
    message, user, services = update.effective_message, update.effective_user, context.services
    found = carried(message, (Kind.DOCUMENT,)) if message else None
    if message is None or user is None or found is None:
        return
    to = addressee(message, context.me)
    if to is None:
        return
    note = refusal(found, services.files)
    if note is not None or services.media is None or services.files is None:
        await message.reply_text(note or texts.TEXT_ONLY, do_quote=to.target.is_group)
        return
    read = _read(found, to.caption, services.media, services.files)
    await answer(context, to.target, user.id, read, speaker=to.speaker, update_id=update.update_id,
                 asked=message.message_id)


def refusal(file: Attachment, files: TelegramFiles | None) -> str | None:
    """Why a document is not read, decided before any download; None: go ahead."""
    if file.size is not None and files is not None and file.size > files.limit:
        return texts.failure(Failure.FILE_TOO_LARGE, "")
    mime = (file.mime_type or "").lower()
    if kind_of(file.file_name or "", mime) is DocumentKind.UNKNOWN and mime.startswith(_BINARY_PREFIXES):
        return texts.document_unsupported(type_name(file.file_name or "", mime))
    return None


def _read(file: Attachment, caption: str, media: MediaRules, files: TelegramFiles) -> Prepare:
    async def prepare(sink: TelegramReplySink) -> str | Failure | Declined:
        assert file.file_id is not None
        try:
            downloaded = await files.download(file.file_id, file.size)
        except FileError as exc:
            logger.info("a document could not be downloaded: %s", type(exc).__name__)
            return Failure.FILE_TOO_LARGE if isinstance(exc, FileTooLarge) else Failure.FILE_UNAVAILABLE
        name = file.file_name or downloaded.file_path.rsplit("/", 1)[-1]
        try:
            reading = await asyncio.to_thread(read_document, name, file.mime_type, downloaded.data, media.counter,
                                              media.document_max_tokens)
        except DocumentError as exc:
            logger.info("a document could not be read: %s", type(exc).__name__)
            return Declined(_why(exc))
        if reading.portion is not None:
            sink.preface(italic(_how_much(reading.portion)))
        return framed(reading, caption)

    return prepare


def _how_much(portion: Portion) -> str:
    if not portion.pages:
        return texts.document_share_read(portion.read)
    if not portion.read:
        return texts.document_page_part(portion.total)
    return texts.document_pages_read(portion.read, portion.total)


def _why(exc: DocumentError) -> str:
    if isinstance(exc, NoTextLayer):
        return texts.DOCUMENT_NO_TEXT
    if isinstance(exc, UnsupportedDocument):
        return texts.document_unsupported(exc.kind)
    if isinstance(exc, EmptyDocument):
        return texts.DOCUMENT_EMPTY
    assert isinstance(exc, DocumentUnreadable)
    return texts.DOCUMENT_UNREADABLE
