"""The bot's own error tree; foreign errors are translated into these at the boundary.

BotError
 ├── ConfigError(variable, expected)   a setting is missing or invalid
 ├── ModelError                         the model call failed
 │    ├── ModelUnavailable              retries exhausted: 429, 5xx, timeouts, connection errors
 │    ├── ModelRejected                 the request was refused (400/401/403/404), retrying cannot help
 │    │    ├── ContextTooLong           the prompt exceeded the model's context window
 │    │    ├── ImagesRejected           a 400 naming images or content parts: the model reads no images
 │    │    └── ModelAccessDenied        401/403: the server refused the API key or its access to the model
 │    └── StreamBroken                  the stream ended without its finish chunk
 ├── StoreUnavailable                   Redis did not answer
 ├── DocumentError                      a document's text could not be read
 │    ├── DocumentUnreadable            damaged, or locked with a password
 │    ├── NoTextLayer                   a PDF without text (scanned pages)
 │    ├── EmptyDocument                 a file without any text
 │    └── UnsupportedDocument(kind)     a type the bot does not read
 ├── FileError                          a Telegram file could not be had
 │    ├── FileNotFound                  getFile does not know the file id (wrong, or of another bot)
 │    ├── FileTooLarge(size, limit)     over the Bot API's download limit (20 MB)
 │    └── FileUnavailable               the Bot API failed, or the download broke off
 └── ImageUnreadable                    a file that says it is an image does not decode as one

Messages are for logs, never for users: the Telegram side chooses what a user reads.
"""


class BotError(Exception):
    """Base of every error the bot raises on purpose."""


class ConfigError(BotError):
    """A setting is missing or has an invalid value."""

    def __init__(self, variable: str, expected: str) -> None:
        super().__init__(f"{variable}: {expected}")
        self.variable = variable
        self.expected = expected


class ModelError(BotError):
    """The model call failed."""


class ModelUnavailable(ModelError):
    """The model could not be reached or kept failing after retries."""


class ModelRejected(ModelError):
    """The model server refused the request; retrying cannot help."""


class ContextTooLong(ModelRejected):
    """The prompt was longer than the model's context window."""


class ImagesRejected(ModelRejected):
    """The model server refused the request's images (the model cannot read images)."""


class ModelAccessDenied(ModelRejected):
    """The model server refused our credentials (401) or their access (403): the bot is set up wrongly."""


class StreamBroken(ModelError):
    """The stream stopped before the model finished its answer."""


class StoreUnavailable(BotError):
    """The Redis store did not answer."""


class DocumentError(BotError):
    """A document's text could not be read."""


class DocumentUnreadable(DocumentError):
    """The file is damaged, or locked with a password."""


class NoTextLayer(DocumentError):
    """A PDF whose pages carry no text (scanned pages need OCR)."""


class EmptyDocument(DocumentError):
    """A text file or Word document without any text."""


class UnsupportedDocument(DocumentError):
    """A file of a type the bot does not read; ``kind`` names it (a MIME type or an extension)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class FileError(BotError):
    """A Telegram file could not be downloaded (messages never carry the file's URL: it holds the bot token)."""


class FileNotFound(FileError):
    """The Bot API does not know the file id."""


class FileTooLarge(FileError):
    """The file is larger than the Bot API lets bots download."""

    def __init__(self, size: int | None, limit: int) -> None:
        super().__init__(f"file of {'more than ' + str(limit) if size is None else size} bytes is over the "
                         f"download limit of {limit} bytes")
        self.size = size
        self.limit = limit


class FileUnavailable(FileError):
    """The Bot API failed to give the file, or its download broke off."""


class ImageUnreadable(BotError):
    """A file that says it is an image does not decode as one."""
