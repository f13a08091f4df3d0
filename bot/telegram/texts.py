"""Every sentence the bot itself sends to users, in one place (the model's answers are not here).

Texts with values are functions; the rest are constants. Nothing else in the code writes user-facing prose.

Write them in English: ``texts.X`` resolves in the language of the update being handled (telegram/i18n), with each
prose string and f-string here looked up in the catalogs (their fields as ``{placeholders}``); a count's words go
through ``plural(count, "{count} day", "{count} days")``. After adding or changing a text, run
``python -m bot.telegram.i18n`` and translate what it adds to each catalog (tests/telegram/i18n checks them).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.attachment import Kind
from bot.domain.outcome import Ending, Failure
from bot.telegram.i18n.english import packaged, plural
from bot.telegram.i18n.variant import localize

START = (
    "Hi! I'm an AI assistant. Send me a message and I'll answer as I write — you'll see the reply grow.\n\n"
    "I remember our conversation for a while, so you can ask follow-up questions. In groups, mention me or "
    "reply to one of my messages. Send /help to see what else I can do."
)

HELP = (
    "Just write to me — I keep the context of our chat.\n\n"
    "/start — what I can do\n"
    "/help — this list\n"
    "/reset or /new — forget our conversation and start afresh\n"
    "/persona — see or change how I answer\n"
    "/persona NAME — switch to a persona from the list\n"
    "/persona <your own instructions> — a custom persona for this chat\n"
    "/model — see or change the model that answers\n"
    "/retry — answer your last message again (or tap 🔄 under my answer)\n"
    "/image <description> — make a picture\n"
    "/usage — the tokens you used today and this month\n"
    "/reminders — the reminders I keep for this chat, to cancel any\n"
    "/privacy — what I store and for how long\n\n"
    "Besides text I read photos and images, listen to voice messages, audio files and video notes (I show what "
    "I heard, then answer), and read documents: PDFs with a text layer, Word (.docx), and text files such as "
    ".txt, .md, .csv, .json or source code. I can't watch videos or read stickers, locations, contacts or polls "
    "yet.\n\n"
    "While I'm answering, tap ⏹ Stop to cut me short. In groups I answer when mentioned or replied to."
)

RESET = "Done — I've forgotten our conversation. Your persona stays as it is."
SORRY = "Sorry, something went wrong on my side. Please try again in a moment."
NOT_ALLOWED = "Sorry, this bot is private and you're not on its list of users."
TEXT_ONLY = "I can read text only for now — please send your question as a message."
# Images: what the user is told when a picture could not be looked at.
VISION_OFF = "I don't look at images here, so I haven't seen your picture."
IMAGE_UNREADABLE = "I couldn't open that image: the file doesn't decode as a picture. Please send it as a photo."
IMAGE_UNAVAILABLE = "I couldn't download that image from Telegram. Please try sending it again."
MODEL_READS_NO_IMAGES = "This model can't read images — switch with /model. I answered from your text alone."


def image_too_large(limit_mb: int) -> str:
    return f"That image is too large for me to download (the limit is {limit_mb} MB). Please send a smaller one."

# What the bot cannot read yet, said instead of silence or an answer that pretends (no model call).
CANNOT_READ = {
    Kind.STICKER: "I can't see stickers, so I don't know what this one shows — tell me in words what you'd like.",
    Kind.LOCATION: "I can't read shared locations yet — please type the place, or your question about it.",
    Kind.CONTACT: "I can't read shared contacts yet — please type what you'd like to know.",
    Kind.POLL: "I can't read or vote in polls yet — please type the question and its options.",
    Kind.DICE: "I can't see dice throws yet, so I don't know what you rolled.",
    Kind.VIDEO: "I can't watch videos yet — I can listen to voice messages and video notes, or read a "
                "transcript if you paste it.",
    Kind.ANIMATION: "I can't watch GIFs or animations yet — please describe what you'd like to know.",
}
# Voice, audio and video notes.
TRANSCRIPTION_OFF = "I don't listen to voice messages or audio here — please type your question."


def recording_too_long(length: str, limit: str) -> str:
    return f"That recording is {length} long; I listen to recordings of up to {limit}. Please send a shorter one."


def cannot_transcribe(kind: str) -> str:
    return (f"I can't listen to {kind} audio — I understand mp3, m4a, ogg, opus, wav, flac and webm. Please send "
            "it in one of those formats.")


# Documents.
DOCUMENT_NO_TEXT = ("This PDF has no text layer — it looks like scanned pages, and I can't read scans yet. "
                    "You could send the pages as photos instead.")
DOCUMENT_UNREADABLE = "I couldn't open that file: it seems damaged or locked with a password."
DOCUMENT_EMPTY = "That file has no text in it for me to read."


def document_unsupported(kind: str) -> str:
    return (f"I can't read files of this type ({kind}) yet. I read PDFs, Word documents (.docx) and text files, "
            "and I look at images.")


def document_pages_read(read: int, total: int) -> str:
    return f"📄 The document is long: I read the first {read} of {total} pages."


def document_page_part(total: int) -> str:
    return f"📄 The document is long: I read only the beginning of its first page (of {total})."


def document_share_read(percent: int) -> str:
    return f"📄 The document is long: I read the first {percent}% of it."


ADMINISTRATORS_ONLY = "Only the group's administrators can change my settings here."
IMAGES_OFF = "Making images is switched off here."
IMAGE_HOW = "Tell me what to draw: /image a lighthouse at dawn, in watercolour."
UNKNOWN_COMMAND = "I don't know that command. Send /help to see what I can do."


def privacy_mode_hint(username: str) -> str:
    """Posted once when the bot joins a group while Telegram's privacy mode keeps other messages from it."""
    return (f"Hi! To talk to me here, mention me (@{username}) or reply to one of my messages — Telegram's privacy "
            "mode shows me only those and commands. To let me read every message, a group admin can make me an "
            "administrator, or my owner can turn privacy mode off with @BotFather's /setprivacy (then re-add me).")


SLOW_DOWN = "You're sending messages faster than I can answer — please slow down a little."

STOP_BUTTON = "⏹ Stop"
STOPPED = "Stopped."
REGENERATE_BUTTON = "🔄"
THINKING = "💭 Thinking…"
NOT_NEWEST_ANSWER = "Only my newest answer here can be answered again."
ONLY_ASKER_REGENERATES = "Only the person who asked (or an admin) can have this answered again."
ONLY_NEWEST_EDITS = ("I answer an edit again only for the newest message I answered (and not long after it was "
                     "sent). Send this as a new message instead.")
NOTHING_TO_RETRY = "There's no answer of mine to redo here yet — just send a message."
ALREADY_FINISHED = "This answer has already finished."
ONLY_ASKER_STOPS = "Only the person who asked can stop this answer."

# Notes after an answer that did not end normally.
NOTES = {
    Ending.LENGTH: "✂️ cut at the length limit",
    Ending.INTERRUPTED: "⚠️ reply interrupted",
    Ending.STOPPED: "⏹ stopped",
}

# Why there is no answer; budget texts take the time left until midnight UTC.
FAILURES = {
    Failure.UNAVAILABLE: "Sorry, I can't reach the language model right now. Please try again in a minute.",
    Failure.REJECTED: "Sorry, the model couldn't answer that. Try rephrasing it, or /reset to start afresh.",
    Failure.MISCONFIGURED: "Sorry, I'm not set up correctly right now, so I can't answer. Please try again later.",
    Failure.EMPTY: "Sorry, the model returned an empty answer. Please try again.",
    Failure.FLAGGED: "Sorry, I can't help with that message. Please rephrase it.",
    Failure.MODERATION_UNAVAILABLE: "Sorry, I can't check messages right now, so I can't answer. Please try later.",
    Failure.USER_BUDGET: "You've used today's token budget. It resets at 00:00 UTC{until}.",
    Failure.CHAT_BUDGET: "This chat has used today's token budget. It resets at 00:00 UTC{until}.",
    Failure.IMAGE_LIMIT: "You've made today's images. More at 00:00 UTC{until}.",
    Failure.IMAGE_REFUSED: "Sorry, the image model won't make that picture. Try describing it differently.",
    Failure.NOTHING_TO_REDO: "There's no answer of mine to redo here — just send a new message.",
    Failure.NOT_HEARD: "Sorry, I couldn't transcribe that recording just now. Please try again, or type it.",
    Failure.NOTHING_HEARD: "I couldn't make out any words in that recording.",
    Failure.FILE_TOO_LARGE: "That file is larger than 20 MB, the most a bot may download from Telegram, so I can't "
                            "read it.",
    Failure.FILE_UNAVAILABLE: "Sorry, I couldn't download that file from Telegram. Please try sending it again.",
}

# A line per tool call, shown in the answer's message while the model's tools run ({subject}: the query, the
# site, the tool's title).
PROGRESS = {
    "search": "🔎 Searching the web: “{subject}”",
    "read": "📄 Reading {subject}…",
    "time": "🕒 Checking the time…",
    "reminder": "⏰ Working on your reminders…",
    "image": "🎨 Drawing: “{subject}”",
    "tool": "🛠 Using {subject}…",
}

# The command menus: (command, description).
PRIVATE_MENU = (
    ("start", "What I can do"),
    ("help", "The commands"),
    ("reset", "Forget our conversation"),
    ("persona", "See or change how I answer"),
    ("model", "See or change the model"),
    ("retry", "Answer my last message again"),
    ("image", "Make a picture"),
    ("usage", "Tokens used today and this month"),
    ("reminders", "Reminders I keep for you"),
    ("privacy", "What I store and for how long"),
)
GROUP_MENU = (
    ("help", "The commands"),
    ("reset", "Forget this chat's conversation (admins)"),
    ("persona", "See or change how I answer (admins)"),
    ("model", "See or change the model (admins)"),
    ("usage", "Tokens used today and this month"),
    ("reminders", "This chat's reminders"),
)

# The bot's profile: what a new user reads before pressing Start (BOT_DESCRIPTION and BOT_SHORT_DESCRIPTION
# replace the English ones); at most 512 and 120 characters.
DESCRIPTION = (
    "Hi! I'm an AI assistant. Ask me anything — questions, writing, code, translations — and I'll answer as I "
    "write. I remember our conversation for a while, so you can ask follow-up questions. Press Start to begin."
)
SHORT_DESCRIPTION = "An AI assistant: ask anything and watch the answer appear as it's written."

KEPT_HISTORY = "Our conversation so far is kept; the new persona applies from my next reply."
PERSONA_TAP = "Tap one to switch, or send /persona <your own instructions>."
YOUR_USAGE = "Your usage"
CHAT_USAGE = "This chat"


def failure(kind: Failure, until: str) -> str:
    """Why there is no answer (``until``: " (in 3 h 5 min)", for the budget texts)."""
    return FAILURES[kind].replace("{until}", until)


def progress(kind: str, subject: str) -> str:
    """The line shown while one tool call runs (an unknown kind reads as a generic tool)."""
    return PROGRESS.get(kind, PROGRESS["tool"]).replace("{subject}", subject)


def until(hours: int, minutes: int) -> str:
    """How long until the budgets reset, as the budget texts show it."""
    return f" (in {hours} h {minutes} min)" if hours else f" (in {minutes} min)"


def unknown_persona(name: str, listing: str) -> str:
    return f"Unknown persona “{name}”.\n\n{listing}"


def persona_too_long(tokens: int, limit: int) -> str:
    return f"That custom persona is {tokens:,} tokens long; the limit is {limit:,} tokens. Please shorten it."


def custom_persona_set() -> str:
    return f"Custom persona set. {KEPT_HISTORY}"


def persona_switched(name: str) -> str:
    return f"Persona switched to “{name}”. {KEPT_HISTORY}"


def current_custom_persona(prompt: str) -> str:
    excerpt = prompt[:200]
    return f"Current persona: custom — “{excerpt}”"


def current_persona(name: str, description: str) -> str:
    return f"Current persona: {name} — {description}"


def persona_description(description: str) -> str:
    """A persona's description: a built-in one's in the reader's language, an operator's as written."""
    return packaged(description)


def persona_list(entries: list[tuple[str, str]]) -> str:
    return "Personas:\n" + "\n".join(f"• {name} — {description}" for name, description in entries)


MODEL_TAP = "Tap one to switch, or send /model NAME."


def only_model(model: str) -> str:
    return f"I answer with one model here: {model}. There are no others to choose from."


def model_name(model: str, label: str) -> str:
    """A model as users see it: its label, with its id when they differ."""
    return model if label == model else f"{label} ({model})"


def current_model(name: str) -> str:
    return f"Current model: {name}"


def model_list(names: list[str]) -> str:
    return "Models:\n" + "\n".join(f"• {name}" for name in names)


def unknown_model(name: str, listing: str) -> str:
    return f"Unknown model “{name}”.\n\n{listing}"


def model_switched(name: str) -> str:
    return f"Model switched to {name}. Our conversation so far is kept; the new model answers from my next reply."


def usage_line(label: str, tokens_in: int, tokens_out: int, cost: float | None, seconds: int = 0) -> str:
    audio = f" · {audio_length(seconds)} of audio transcribed" if seconds else ""
    price = cost_text(cost)
    return f"{label}: {tokens_in:,} tokens in · {tokens_out:,} out{audio}{price}"


def cost_text(cost: float | None) -> str:
    """A cost as billed, after a usage line: none when a model has no price; below a cent as "< $0.01"."""
    if cost is None:
        return ""
    if 0 < cost < 0.01:
        return " · < $0.01"
    return f" · ≈ ${cost:,.2f}"


def budget_line(tokens: int, left: int) -> str:
    """A daily token budget and what is left of it today."""
    return f"Daily budget: {tokens:,} tokens · {left:,} left today (resets at 00:00 UTC)"


def audio_length(seconds: int) -> str:
    """A recording's length: "42 s", "3 min 5 s"."""
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def model_usage_line(model: str, tokens_in: int, tokens_out: int, cost: float | None, *, images: int = 0,
                     reasoning: int = 0) -> str:
    """One model's part of a period's usage, under the period's line."""
    price = cost_text(cost)
    if images:
        made = plural(images, "{count} image", "{count} images")
        return f"  · {model}: {made}{price}"
    thought = f" ({reasoning:,} reasoning)" if reasoning else ""
    return f"  · {model}: {tokens_in:,} in · {tokens_out:,} out{thought}{price}"


USAGE_PERIODS = ("Today", "This month")

# Operators' commands (ADMIN_USER_IDS), shown in their menus only, after PRIVATE_MENU.
OPERATOR_MENU = (
    ("stats", "Users, turns, tokens and cost (operators)"),
    ("ban", "Ban a user: /ban <user_id> (operators)"),
    ("unban", "Lift a ban: /unban <user_id> (operators)"),
    ("allow", "Allow a user: /allow <user_id> (operators)"),
    ("disallow", "Take an allowance back (operators)"),
)
STATS_PERIODS = ("Today (UTC)", "This month")
# /stats' names of turn outcomes (TurnResult.outcome: an Ending's value, or "failed:" and a Failure's).
OUTCOME_NAMES: dict[Ending | Failure | str, str] = {
    Ending.COMPLETE: "answered",
    Ending.LENGTH: "cut at the length limit",
    Ending.INTERRUPTED: "interrupted replies",
    Ending.STOPPED: "stopped by the user",
    Failure.UNAVAILABLE: "model unavailable",
    Failure.REJECTED: "rejected by the model",
    Failure.MISCONFIGURED: "model misconfigured",
    Failure.EMPTY: "empty answers",
    Failure.FLAGGED: "flagged by moderation",
    Failure.MODERATION_UNAVAILABLE: "moderation unavailable",
    Failure.USER_BUDGET: "user budget spent",
    Failure.CHAT_BUDGET: "chat budget spent",
    Failure.NOT_HEARD: "transcription failed",
    Failure.NOTHING_HEARD: "no words heard",
    Failure.FILE_TOO_LARGE: "files too large",
    Failure.FILE_UNAVAILABLE: "files not downloaded",
    Failure.NOTHING_TO_REDO: "nothing to answer again",
    Failure.IMAGE_LIMIT: "image limit reached",
    Failure.IMAGE_REFUSED: "images refused by the model",
    "declined": "attachments declined",
}


def outcome_name(outcome: str) -> str:
    """A turn outcome as /stats names it (one unknown to this table as it is stored)."""
    kind: Ending | Failure | str = outcome
    if outcome in {e.value for e in Ending}:
        kind = Ending(outcome)
    elif outcome.startswith("failed:") and outcome.removeprefix("failed:") in {f.value for f in Failure}:
        kind = Failure(outcome.removeprefix("failed:"))
    return OUTCOME_NAMES.get(kind, outcome)
NO_TURNS = "Turns: none"
NO_TOKENS = "Tokens: none"


def stats_head(label: str, users: int, chats: int) -> str:
    people = plural(users, "{count:,} user", "{count:,} users")
    places = plural(chats, "{count:,} chat", "{count:,} chats")
    return f"{label}: {people} · {places}"


def stats_turns(total: int, parts: list[tuple[str, int]]) -> str:
    return f"Turns: {total:,} — " + ", ".join(f"{name} {count:,}" for name, count in parts)


def stats_refusals(budget_refusals: int, model_errors: int, update_errors: int) -> str:
    return (f"Budget refusals: {budget_refusals:,} · errors: {model_errors + update_errors:,} "
            f"(model {model_errors:,}, handling {update_errors:,})")


def stats_model(model: str, tokens_in: int, cached: int, tokens_out: int, cost: float | None, *,
                images: int = 0) -> str:
    price = cost_text(cost)
    if images:
        made = plural(images, "{count} image", "{count} images")
        return f"• {model}: {made}{price}"
    cached_part = f" ({cached:,} cached)" if cached else ""
    return f"• {model}: {tokens_in:,} in{cached_part} · {tokens_out:,} out{price}"


def stats_lists(banned: int, allowed: int) -> str:
    return f"Banned users: {banned:,} · allowed at run time: {allowed:,}"


def operator_usage(command: str) -> str:
    """An operator's command without a valid user id."""
    return f"Send /{command} <user_id>, e.g. /{command} 123456789 (the numeric Telegram id)."


def banned(user_id: int, changed: bool) -> str:
    return f"User {user_id} is banned." if changed else f"User {user_id} was already banned."


def unbanned(user_id: int, changed: bool) -> str:
    return f"User {user_id} is no longer banned." if changed else f"User {user_id} was not banned."


def allowed(user_id: int, changed: bool) -> str:
    return f"User {user_id} may use the bot now." if changed else f"User {user_id} was already allowed."


def disallowed(user_id: int, changed: bool, listed: bool) -> str:
    if not changed:
        return f"User {user_id} had not been allowed with /allow."
    still = " (still on ALLOWED_USER_IDS, so they keep access)" if listed else ""
    return f"User {user_id} is no longer allowed{still}."


def operator_exempt(user_id: int) -> str:
    return f"User {user_id} is an operator (ADMIN_USER_IDS), who cannot be banned or shut out."


ALLOWLIST_OPEN = ("Everyone may use the bot already (ALLOWED_USER_IDS and ALLOWED_CHAT_IDS are empty), so /allow "
                  "changes nothing. /ban shuts out one user.")


def privacy(history: str, settings: str, usage: str) -> str:
    """/privacy, with each kind of data's retention as a duration."""
    return (
        "What I store, and for how long:\n"
        f"• The messages of this chat and my answers, so I can keep the context: deleted after "
        f"{history} without new messages. Older messages are condensed into a short summary, kept just as long.\n"
        f"• Your persona choice: deleted after {settings} unused.\n"
        f"• Token counts (no text) for /usage and daily limits: {usage}.\n"
        "• Reminders you ask me for: until they are sent or cancelled (/reminders lists them).\n\n"
        "/reset deletes this chat's history and summary right now.\n"
        "Of photos, voice messages and files I keep only Telegram's file ids, with what I heard in a recording "
        "(its transcript) and the text I read of a document, in the history above for as long as it is kept. "
        "I never store the files themselves; they are downloaded from Telegram when needed.\n"
        "Your messages, and the photos, recordings and documents you send, are sent to the language model "
        "provider to write the answers."
    )


def duration(seconds: int) -> str:
    """A retention period in words: days, hours, or seconds."""
    days, rest = divmod(seconds, 86400)
    if days and not rest:
        return plural(days, "{count} day", "{count} days")
    hours = seconds // 3600
    if hours and seconds % 3600 == 0:
        return plural(hours, "{count} hour", "{count} hours")
    return plural(seconds, "{count} second", "{count} seconds")


def reminder(text: str) -> str:
    """A due reminder, sent replying to the message that asked for it."""
    return f"⏰ Reminder: {text}"


NO_REMINDERS = "No reminders in this chat. Ask me for one, e.g. “remind me in 20 minutes to stretch”."
REMINDER_CANCELLED = "Reminder cancelled."
REMINDER_GONE = "That reminder was already sent or cancelled."
REMINDER_SENDING = "Too late — that reminder is being sent right now."
ONLY_SETTER_CANCELS = "Only the person who set this reminder, or an admin, can cancel it."


def reminder_list(entries: list[tuple[str, str]]) -> str:
    """/reminders: (when, text) of each pending reminder, soonest first."""
    lines = [f"{number}. {when} — {text}" for number, (when, text) in enumerate(entries, 1)]
    return "Reminders in this chat:\n" + "\n".join(lines)


def reminder_time(due: datetime) -> str:
    """When a reminder is due, as /reminders shows it (UTC)."""
    return f"{due.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def cancel_reminder_button(number: int) -> str:
    return f"✖ Cancel {number}"


localize(__name__)
