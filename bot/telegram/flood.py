"""Telegram's flood control: its per-group message limit, and how long a RetryAfter asks us to wait."""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram.error import RetryAfter

# Telegram's limit for one group: about 20 messages (sends and edits) a minute.
GROUP_MESSAGES_PER_MINUTE = 20

def retry_after_seconds(error: RetryAfter) -> float:
    """RetryAfter's wait in seconds, whichever type this PTB version gives it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 warns that the int will become a timedelta
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
