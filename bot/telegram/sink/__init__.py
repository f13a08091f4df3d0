"""The Telegram side of a streaming answer, one part per module:

- ``reply``: the sink itself (partial edits through the pump, the final text and its note, failures, Stop);
- ``pump``: the newest state shown once per slot; ``typing``: the typing indicator until words show;
- ``pages``: a new message at the 4096 limit, and the messages an earlier replica sent (Handover);
- ``message``: one message's send/edit through flood waits and rejected formatting;
- ``schedule``: when the next call may go (Cadence, flood waits, a group's minute budget); ``target``: where.
"""

from bot.telegram.sink.pages import Handover
from bot.telegram.sink.reply import REGENERATE, STOP_PREFIX, TelegramReplySink
from bot.telegram.sink.schedule import Cadence
from bot.telegram.sink.target import Target

__all__ = ["REGENERATE", "STOP_PREFIX", "Cadence", "Handover", "Target", "TelegramReplySink"]
