"""Logging setup: one line per event, secrets redacted, noisy HTTP clients quiet."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

# httpx logs every request URL at INFO, and Bot API URLs carry the bot token.
# Fields a log call may pass with ``extra=`` and the JSON format shows (never message text or tokens).
EVENT_FIELDS = ("update_id", "chat", "outcome", "first_text_ms", "duration_ms", "tokens_in", "tokens_out")
_QUIET = ("httpx", "httpx2", "httpcore", "openai", "telegram.ext.Updater", "uvicorn.access", "apscheduler")


class RedactingFilter(logging.Filter):
    """Replaces secrets (the bot token, API keys) wherever they would appear in a log line."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        return True

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the event's fields (update_id, chat…)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k in EVENT_FIELDS})
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, fmt: str, secrets: Iterable[str]) -> None:
    """Root logging to stderr at ``level`` as text or JSON, every record passed through the redacting filter."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
