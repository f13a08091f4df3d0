"""End to end: photos, image files and albums reach the model as image parts; what cannot be seen gets a note."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.bot_process import TOKEN
from tests.e2e import World
from tests.fake_openai import image_parts
from tests.http_fake import wait_for
from tests.pictures import data_url, decoded, picture

CHAT = 42


@pytest.fixture(autouse=True)
def no_request_to_the_model_carries_the_bot_token(env: World) -> Iterator[None]:
    """Every test here: whatever was sent, no model request ever held the bot token (a Telegram file URL)."""
    yield
    sent = json.dumps(env.model.requests)
    assert TOKEN not in sent and "/file/bot" not in sent


def answered(w: World, chat: int, count: int = 1) -> bool:
    messages = w.telegram.messages(chat)
    return len(messages) >= count and messages[-1].final


def text_parts(body: dict[str, object]) -> list[str]:
    last = body["messages"][-1]  # type: ignore[index]
    return [part["text"] for part in last["content"] if part["type"] == "text"]


def test_a_photo_reaches_the_model_as_its_largest_size_within_2048_px_in_a_data_url(env: World) -> None:
    small, large, huge = picture(320, 240), picture(1280, 960), picture(2560, 1920)
    photo = env.telegram.add_photo((320, 240, small), (1280, 960, large), (2560, 1920, huge))
    with env.bot() as bot:
        bot.post(env.telegram.make_update(None, chat_id=CHAT, photo=photo, caption="What colour is this?"))
        wait_for(lambda: answered(env, CHAT), what="the answer")
        (request,) = env.model.chat_requests()
        log = bot.log()
    assert env.telegram.texts(CHAT) == ["Echo: What colour is this?"]
    assert TOKEN not in log and "/file/bot" not in log
    assert image_parts(request) == [{"url": data_url(large, "image/jpeg"), "detail": "auto"}]
    assert text_parts(request) == ["What colour is this?"]
    assert TOKEN not in json.dumps(env.model.requests)


def test_an_image_file_is_seen_and_a_gif_by_its_first_frame(env: World) -> None:
    png = env.telegram.add_file(picture(100, 80, "PNG"), file_path="documents/file_9.png")
    gif = env.telegram.add_file(picture(60, 40, frames=3), file_path="documents/file_10.gif")
    with env.bot(IMAGE_DETAIL="low") as bot:
        bot.post(env.telegram.make_update(None, chat_id=CHAT, document={
            "file_id": png, "file_unique_id": "u1", "file_name": "chart.png", "mime_type": "image/png"}))
        wait_for(lambda: answered(env, CHAT), what="the answer to the PNG")
        bot.post(env.telegram.make_update(None, chat_id=CHAT, caption="and this?", document={
            "file_id": gif, "file_unique_id": "u2", "file_name": "anim.gif", "mime_type": "image/gif"}))
        wait_for(lambda: answered(env, CHAT, 2), what="the answer to the GIF")
        first, second = env.model.chat_requests()
    (part,) = image_parts(first)
    assert part["url"].startswith("data:image/png;base64,") and part["detail"] == "low"
    assert decoded(part["url"]).size == (100, 80)
    still = image_parts(second)[-1]["url"]  # the PNG of the turn before goes again too
    assert still.startswith("data:image/") and getattr(decoded(still), "n_frames", 1) == 1
    assert TOKEN not in json.dumps(env.model.requests)


def test_an_image_file_of_no_stated_type_is_seen_by_its_name(env: World) -> None:
    png = env.telegram.add_file(picture(64, 48, "PNG"), file_path="documents/file_11.png")
    with env.bot() as bot:
        bot.post(env.telegram.make_update(None, chat_id=CHAT, caption="what is this?", document={
            "file_id": png, "file_unique_id": "u1", "file_name": "screenshot.png",
            "mime_type": "application/octet-stream"}))
        wait_for(lambda: answered(env, CHAT), what="the answer")
    (request,) = env.model.chat_requests()
    (part,) = image_parts(request)
    assert part["url"].startswith("data:image/png;base64,") and decoded(part["url"]).size == (64, 48)
    assert env.telegram.texts(CHAT) == ["Echo: what is this?"]


def test_a_gif_telegram_calls_an_animation_is_seen_by_its_first_frame(env: World) -> None:
    gif = env.telegram.add_file(picture(60, 40, frames=3), file_path="animations/file_12.gif")
    fields = {"file_id": gif, "file_unique_id": "u1", "file_name": "dance.gif", "mime_type": "image/gif"}
    with env.bot() as bot:
        bot.post(env.telegram.make_update(None, chat_id=CHAT, caption="what moves?", document=fields,
                                          animation=fields | {"width": 60, "height": 40, "duration": 1}))
        wait_for(lambda: answered(env, CHAT), what="the answer")
    (request,) = env.model.chat_requests()
    (part,) = image_parts(request)
    assert getattr(decoded(part["url"]), "n_frames", 1) == 1 and decoded(part["url"]).size == (60, 40)
    assert env.telegram.texts(CHAT) == ["Echo: what moves?"]


def test_a_broken_image_and_a_too_large_file_get_clear_notes(env: World) -> None:
    broken = env.telegram.add_file(b"this is not a PNG at all", file_path="documents/file_20.png")
    large = env.telegram.add_file(b"tiny", file_path="documents/file_21.jpg", file_size=25 * 1024 * 1024)
    with env.bot() as bot:
        bot.post(env.telegram.make_update(None, chat_id=CHAT, caption="what does it say?", document={
            "file_id": broken, "file_unique_id": "u1", "file_name": "scan.png", "mime_type": "image/png"}))
        wait_for(lambda: answered(env, CHAT, 2), what="the note and the answer")
        bot.post(env.telegram.make_update(None, chat_id=CHAT, document={
            "file_id": large, "file_unique_id": "u2", "file_name": "big.jpg", "mime_type": "image/jpeg",
            "file_size": 25 * 1024 * 1024}))
        wait_for(lambda: len(env.telegram.texts(CHAT)) == 3, what="the too-large note")
        log = bot.log()
    note, reply, too_large = env.telegram.texts(CHAT)
    assert "couldn't open that image" in note and "Traceback" not in log
    assert reply.startswith("Echo: ") and "what does it say?" in reply
    assert "too large" in too_large and "20 MB" in too_large
    (request,) = env.model.chat_requests()  # the too-large image alone asks the model nothing
    assert image_parts(request) == [] and "[photo not shown to you]" in request["messages"][-1]["content"]
    assert "documents/file_21.jpg" not in env.telegram.downloads


def test_an_album_split_over_two_replicas_is_one_turn(env: World) -> None:
    red, blue = picture(40, 30, color=(255, 0, 0)), picture(40, 30, color=(0, 0, 255))
    first, second = env.telegram.add_photo((40, 30, red)), env.telegram.add_photo((40, 30, blue))
    with env.bots(2, ALBUM_WINDOW_SECONDS="2") as (one, other):  # room for a stalled test between the posts
        one.post(env.telegram.make_update(None, chat_id=CHAT, photo=first, caption="Which is warmer?",
                                          media_group_id="album-1"))
        other.post(env.telegram.make_update(None, chat_id=CHAT, photo=second, media_group_id="album-1"))
        wait_for(lambda: answered(env, CHAT), timeout=30, what="the answer")
        wait_for(lambda: env.unacknowledged() == 0, what="both parts handled")
    (request,) = env.model.chat_requests()
    assert [part["url"] for part in image_parts(request)] == [data_url(red, "image/jpeg"), data_url(blue, "image/jpeg")]
    assert text_parts(request) == ["Which is warmer?"]
    assert env.telegram.texts(CHAT) == ["Echo: Which is warmer?"]


def test_earlier_images_are_sent_again_up_to_the_limit_and_older_ones_become_stand_ins(env: World) -> None:
    photos = [picture(30, 20, color=(n * 60, 0, 0)) for n in range(3)]
    with env.bot(VISION_HISTORY_IMAGES="1") as bot:
        for n, data in enumerate(photos):
            bot.post(env.telegram.make_update(None, chat_id=CHAT, photo=env.telegram.add_photo((30, 20, data)),
                                              caption=f"photo {n}" if n else None))
            wait_for(lambda n=n: answered(env, CHAT, n + 1), what=f"answer {n}")  # type: ignore[misc]
        bot.post(env.telegram.make_update("Which was the darkest?", chat_id=CHAT))
        wait_for(lambda: answered(env, CHAT, 4), what="the answer to the question")
    last = env.model.chat_requests()[-1]
    assert [part["url"] for part in image_parts(last)] == [data_url(photos[2], "image/jpeg")]
    contents = [json.dumps(m["content"]) for m in last["messages"] if m["role"] == "user"]
    assert "[photo: no caption]" in contents[0] and "[photo: photo 1]" in contents[1]
    assert env.store.lrange(f"tg:{TOKEN.split(':')[0]}:chat:{{{CHAT}}}:turns", 0, -1)  # stored as references
    assert "base64" not in json.dumps(env.store.lrange(f"tg:{TOKEN.split(':')[0]}:chat:{{{CHAT}}}:turns", 0, -1))


def test_with_vision_off_the_caption_is_answered_and_the_user_told_the_image_was_not_seen(env: World) -> None:
    photo = env.telegram.add_photo((30, 20, picture(30, 20)))
    with env.bot(VISION="false") as bot:
        bot.post(env.telegram.make_update(None, chat_id=CHAT, photo=photo, caption="Nice view?"))
        wait_for(lambda: answered(env, CHAT, 2), what="the note and the answer")
    note, reply = env.telegram.texts(CHAT)
    assert "haven't seen your picture" in note and reply.startswith("Echo: ")
    (request,) = env.model.chat_requests()
    assert image_parts(request) == [] and "[photo not shown to you]" in request["messages"][-1]["content"]
    assert env.telegram.downloads == []


def test_a_model_that_refuses_images_answers_the_caption_and_says_so_once_a_day(env: World) -> None:
    env.model.refuse_images = True
    with env.bot() as bot:
        for n in range(2):
            bot.post(env.telegram.make_update(None, chat_id=CHAT, photo=env.telegram.add_photo(
                (30, 20, picture(30, 20))), caption=f"look {n}"))
            wait_for(lambda n=n: answered(env, CHAT, 2 + n), what=f"answer {n}")  # type: ignore[misc]
    answer, note, second = env.telegram.texts(CHAT)
    assert answer.startswith("Echo: ") and "look 0" in answer and "can't read images" in note
    assert second.startswith("Echo: ") and "look 1" in second
    assert [bool(image_parts(r)) for r in env.model.chat_requests()] == [True, False, False]


def test_in_a_group_a_mention_under_someones_photo_or_in_a_caption_shows_the_model_the_photo(env: World) -> None:
    group, data = -1001, picture(50, 40, color=(0, 200, 0))
    shared = env.telegram.make_update(None, chat_id=group, chat_type="supergroup", user_id=8, first_name="Bob",
                                      photo=env.telegram.add_photo((50, 40, data)), caption="my garden")
    with env.bot() as bot:
        bot.post(shared)
        bot.post(env.telegram.make_update("@test_bot what plant is this?", chat_id=group, chat_type="supergroup",
                                          user_id=7, reply_to_message=shared["message"]["message_id"],
                                          entities=[{"type": "mention", "offset": 0, "length": 9}]))
        wait_for(lambda: answered(env, group), what="the answer in the group")
        own = picture(20, 20, color=(9, 9, 9))
        bot.post(env.telegram.make_update(None, chat_id=group, chat_type="supergroup", user_id=7,
                                          photo=env.telegram.add_photo((20, 20, own)), caption="@test_bot and this?",
                                          caption_entities=[{"type": "mention", "offset": 0, "length": 9}]))
        wait_for(lambda: answered(env, group, 2), what="the answer to the captioned photo")
    about, captioned = env.model.chat_requests()
    assert [part["url"] for part in image_parts(about)] == [data_url(data, "image/jpeg")]
    assert "what plant is this?" in text_parts(about)[0]
    assert image_parts(captioned)[-1]["url"] == data_url(own, "image/jpeg")
    assert text_parts(captioned) == ["Ann: and this?"]  # the mention taken out, the speaker named
    assert len(env.model.chat_requests()) == 2  # Bob's own photo, not addressed to the bot, asked nothing
