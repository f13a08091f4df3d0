"""End to end: documents are read into the turn (PDF, scanned PDF, .docx, a text file in an old charset), what cannot
be read gets a note naming why, and stickers and the like get an honest note without a model call."""

from __future__ import annotations

import json
import re

from tests.bot_process import TOKEN
from tests.document_samples import pdf, word
from tests.e2e import World
from tests.http_fake import wait_for
from tests.media_samples import document
from tests.test_e2e_basics import answered

CHAT = 42
PAGE = "The quarterly numbers show steady growth in every region we serve. " * 3
RUSSIAN = "Список покупок: молоко, хлеб, яйца и немного сыра к ужину."


def last_user_message(w: World) -> str:
    return str(w.model.chat_requests()[-1]["messages"][-1]["content"])


def test_documents_are_read_into_the_turn_with_their_name_and_the_caption_as_the_question(env: World) -> None:
    with env.bot(DOCUMENT_MAX_TOKENS="400") as bot:
        long = document(env.telegram, pdf(*[f"{PAGE} Page {n}." for n in range(1, 41)]), "report.pdf",
                        "application/pdf")
        bot.post(env.telegram.make_update(None, chat_id=CHAT, caption="What grew?", **long))
        wait_for(lambda: answered(env, CHAT), what="the PDF's answer")
        (message,) = env.telegram.messages(CHAT)
        told = re.match(r"📄 The document is long: I read the first (\d+) of 40 pages\.\n\n", message.text)
        assert told is not None
        read = int(told[1])
        assert 1 < read < 40 and message.entities[0]["type"] == "italic"
        asked = last_user_message(env)
        assert asked.startswith(f'[Document "report.pdf" (the first {read} of 40 pages)]\n[Page 1]\n')
        assert f"[Page {read}]" in asked and f"[Page {read + 1}]" not in asked
        assert asked.endswith("[End of document]\n\nWhat grew?") and message.text.endswith("What grew?")

        docx = document(env.telegram, word("Minutes", table=[["Owner", "Ann"]]), "minutes.docx", None)
        bot.post(env.telegram.make_update(None, chat_id=CHAT, **docx))
        wait_for(lambda: answered(env, CHAT, 2), what="the .docx answer")
        assert last_user_message(env) == ('[Document "minutes.docx"]\nMinutes\nOwner | Ann\n[End of document]\n\n'
                                          "Summarise this document.")
        notes = document(env.telegram, RUSSIAN.encode("cp1251"), "заметки.txt", "text/plain")
        bot.post(env.telegram.make_update(None, chat_id=CHAT, caption="Что купить?", **notes))
        wait_for(lambda: answered(env, CHAT, 3), what="the text file's answer")
        assert f"\n{RUSSIAN}\n[End of document]\n\nЧто купить?" in last_user_message(env)
        history = env.model.chat_requests()[-1]["messages"]
        assert history[1]["content"].startswith('[Document "report.pdf"')  # the extract is kept as the turn
    assert len(env.model.chat_requests()) == 3
    assert all(TOKEN not in json.dumps(request) for request in env.model.requests)


def test_what_cannot_be_read_gets_a_note_saying_why_and_no_model_call(env: World) -> None:
    sends = {
        "scan": document(env.telegram, pdf("", ""), "scan.pdf", "application/pdf"),
        "large": document(env.telegram, b"%PDF-", "big.pdf", "application/pdf", size=25 * 1024 * 1024),
        "zip": document(env.telegram, b"PK\x03\x04\x00\x00\x00", "photos.zip", "application/zip"),
        "blob": document(env.telegram, b"\x00\x01\x02\x00binary", "data.bin", None),
        "sticker": {"sticker": {"file_id": "STK", "file_unique_id": "uSTK", "width": 512, "height": 512,
                                "is_animated": False, "is_video": False, "type": "regular"}},
        "location": {"location": {"latitude": 52.5, "longitude": 13.4}},
    }
    with env.bot() as bot:
        for count, fields in enumerate(sends.values(), 1):
            bot.post(env.telegram.make_update(None, chat_id=CHAT, **fields))
            wait_for(lambda n=count: answered(env, CHAT, n), what=f"note {count}")  # type: ignore[misc]
    scan, large, zipped, blob, sticker, location = env.telegram.texts(CHAT)
    assert scan.startswith("This PDF has no text layer")
    assert large.startswith("That file is larger than 20 MB")
    assert "(application/zip)" in zipped and "(.bin)" in blob
    assert sticker.startswith("I can't see stickers") and location.startswith("I can't read shared locations")
    assert env.model.chat_requests() == []
    assert all("big.pdf" not in path and "photos.zip" not in path for path in env.telegram.downloads)
