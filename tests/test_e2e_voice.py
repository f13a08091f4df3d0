"""End to end: voice messages, audio files and video notes are transcribed, quoted, answered and counted."""

from __future__ import annotations

from tests.bot_process import TOKEN
from tests.e2e import World
from tests.fake_openai import Reply
from tests.fake_openai_audio import Transcript
from tests.http_fake import wait_for
from tests.media_samples import audio, document, video_note, voice
from tests.test_e2e_basics import answered

CHAT = 42


def test_a_voice_message_is_quoted_then_answered_and_its_transcript_is_the_turn(env: World) -> None:
    env.model.audio.script("What is the capital of France?", Transcript("word " * 80))
    env.model.script(Reply("Paris."), Reply("Noted."))
    with env.bot() as bot:
        bot.post(env.telegram.make_update(None, chat_id=CHAT, **voice(env.telegram)))
        wait_for(lambda: answered(env, CHAT), what="the answer to the voice message")
        (message,) = env.telegram.messages(CHAT)
        assert message.text == "What is the capital of France?\n\nParis."
        assert [(e["type"], e["offset"], e["length"]) for e in message.entities] == [("blockquote", 0, 30)]
        (upload,) = env.model.audio.uploads
        assert (upload.filename, upload.model, upload.data) == ("voice.ogg", "gpt-4o-mini-transcribe",
                                                                 b"OggS\x00\x02fake-opus")
        assert env.model.chat_requests()[0]["messages"][-1] == {"role": "user",
                                                                "content": "What is the capital of France?"}
        bot.post(env.telegram.make_update(None, chat_id=CHAT, **voice(env.telegram, duration=30)))
        wait_for(lambda: answered(env, CHAT, 2), what="the answer to the long voice message")
        long = env.telegram.messages(CHAT)[1]
        assert long.entities[0]["type"] == "expandable_blockquote" and long.text.endswith("\n\nNoted.")
        history = env.model.chat_requests()[1]["messages"]
        assert [m["content"] for m in history[1:3]] == ["What is the capital of France?", "Paris."]
        bot.post(env.telegram.make_update("/usage", chat_id=CHAT))
        wait_for(lambda: len(env.telegram.messages(CHAT)) == 3, what="/usage")
        assert "34 s of audio transcribed" in env.telegram.texts(CHAT)[2]
    assert all(TOKEN not in str(request) for request in env.model.requests)
    assert all(TOKEN.encode() not in upload.data for upload in env.model.audio.uploads)


def test_audio_files_and_video_notes_are_sent_as_they_are_named_for_their_format(env: World) -> None:
    env.model.audio.script("first", "second")
    with env.bot() as bot:
        bot.post(env.telegram.make_update(None, chat_id=CHAT, **audio(env.telegram, name="memo.opus",
                                                                       mime="audio/ogg")))
        wait_for(lambda: answered(env, CHAT), what="the audio's answer")
        bot.post(env.telegram.make_update(None, chat_id=CHAT, **video_note(env.telegram)))
        wait_for(lambda: answered(env, CHAT, 2), what="the video note's answer")
    assert [u.filename for u in env.model.audio.uploads] == ["audio.ogg", "video_note.mp4"]
    assert env.telegram.texts(CHAT) == ["first\n\nEcho: first", "second\n\nEcho: second"]


def test_an_audio_file_sent_as_a_file_is_transcribed_and_its_length_as_the_server_says_it_is_counted(
        env: World) -> None:
    env.model.audio.script(Transcript("Minutes of the meeting.", seconds=95.4), "From the flac file.")
    with env.bot() as bot:
        wav = document(env.telegram, b"RIFF\x24\x00\x00\x00WAVEfmt ", "meeting.wav", "audio/x-wav")
        bot.post(env.telegram.make_update(None, chat_id=CHAT, **wav))
        wait_for(lambda: answered(env, CHAT), what="the .wav file's answer")
        flac = document(env.telegram, b"fLaC\x00\x00\x00\x22", "take 2.flac", None)
        bot.post(env.telegram.make_update(None, chat_id=CHAT, caption="and this one?", **flac))
        wait_for(lambda: answered(env, CHAT, 2), what="the .flac file's answer")
        bot.post(env.telegram.make_update("/usage", chat_id=CHAT))
        wait_for(lambda: len(env.telegram.messages(CHAT)) == 3, what="/usage")
    first, second, usage = env.telegram.messages(CHAT)
    assert first.text == "Minutes of the meeting.\n\nEcho: Minutes of the meeting."
    assert first.entities[0]["type"] == "blockquote"
    assert second.text.startswith("From the flac file.\n\nEcho: From the flac file.")
    assert [u.filename for u in env.model.audio.uploads] == ["audio.wav", "audio.flac"]
    assert "1 min 35 s of audio transcribed" in usage.text


def test_a_failed_transcription_is_apologised_for_and_leaves_no_turn_behind(env: World) -> None:
    env.model.audio.script(500, 500, 500)
    with env.bot() as bot:
        bot.post(env.telegram.make_update(None, chat_id=CHAT, **voice(env.telegram)))
        wait_for(lambda: answered(env, CHAT), what="the apology")
        (apology,) = env.telegram.texts(CHAT)
        assert apology.startswith("Sorry, I couldn't transcribe") and "500" not in apology
        assert env.model.chat_requests() == []
        bot.post(env.telegram.make_update("hello", chat_id=CHAT))
        wait_for(lambda: answered(env, CHAT, 2), what="the next answer")
        assert [m["role"] for m in env.model.chat_requests()[0]["messages"]] == ["system", "user"]


def test_with_transcription_off_a_recording_gets_a_note_without_a_download(env: World) -> None:
    with env.bot(TRANSCRIPTION="false") as bot:
        bot.post(env.telegram.make_update(None, chat_id=CHAT, **voice(env.telegram)))
        wait_for(lambda: answered(env, CHAT), what="the note")
        assert env.telegram.texts(CHAT) == [
            "I don't listen to voice messages or audio here — please type your question."]
    assert env.telegram.downloads == [] and env.model.audio.uploads == [] and env.model.chat_requests() == []


def test_a_group_voice_reply_to_the_bot_is_answered_others_are_not_and_long_ones_get_a_note(env: World) -> None:
    group = -100
    with env.bot(VOICE_MAX_SECONDS="60") as bot:
        bot.post(env.telegram.make_update("@test_bot hi", chat_id=group, chat_type="supergroup", user_id=7,
                                          entities=[{"type": "mention", "offset": 0, "length": 9}]))
        wait_for(lambda: answered(env, group), what="the first answer")
        someones = env.telegram.make_update(None, chat_id=group, chat_type="supergroup", user_id=8,
                                            **voice(env.telegram, data=b"OggS-first"))
        bot.post(someones)
        mine = env.telegram.messages(group)[0].message_id
        bot.post(env.telegram.make_update(None, chat_id=group, chat_type="supergroup", user_id=7,
                                          reply_to_message=mine, **voice(env.telegram, data=b"OggS-second")))
        wait_for(lambda: answered(env, group, 2), what="the answer to the voice reply")
        bot.post(env.telegram.make_update("@test_bot what does it say?", chat_id=group, chat_type="supergroup",
                                          user_id=7, reply_to_message=someones["message"]["message_id"],
                                          entities=[{"type": "mention", "offset": 0, "length": 9}]))
        wait_for(lambda: answered(env, group, 3), what="the answer about someone's voice message")
        bot.post(env.telegram.make_update(None, chat_id=CHAT, **voice(env.telegram, duration=61, data=b"OggS-3")))
        wait_for(lambda: answered(env, CHAT), what="the note")
    assert [u.data for u in env.model.audio.uploads] == [b"OggS-second", b"OggS-first"]
    assert env.telegram.messages(group)[1].reply_to is not None
    asked = env.model.chat_requests()[-1]["messages"][-1]["content"]
    assert asked == "Ann: Hello from a voice note.\n\nwhat does it say?"
    assert env.telegram.texts(CHAT) == [
        "That recording is 1 min 1 s long; I listen to recordings of up to 1 min. Please send a shorter one."]
    assert len(env.telegram.downloads) == 2  # not the voice until it was asked about, never the long one
