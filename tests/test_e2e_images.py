"""End to end: /image (and the generate_image tool the model calls) makes a picture with images.generate and
sends it as a photo, within the daily limit."""

from __future__ import annotations

from typing import Any

from tests.e2e import World
from tests.fake_openai import Behaviour, Call, Reply, ToolCalls
from tests.http_fake import wait_for

CHAT, GROUP = 42, -100777



def photos(w: World, chat: int) -> list[str]:
    return [m.text for m in w.telegram.messages(chat) if m.photo]


def notes(w: World, chat: int) -> list[str]:
    return [m.text for m in w.telegram.messages(chat) if not m.photo]


def test_an_image_is_made_sent_as_a_photo_and_limited_per_day(env: World) -> None:
    with env.bot(DAILY_IMAGES_PER_USER="2", IMAGE_SIZE="512x512") as bot:
        bot.post(env.telegram.make_update("/image a red fox in the snow", chat_id=CHAT))
        wait_for(lambda: photos(env, CHAT) == ["a red fox in the snow"], what="the photo")
        (request,) = env.model.image_requests()
        assert (request["model"], request["prompt"], request["size"]) == ("gpt-image-1", "a red fox in the snow",
                                                                          "512x512")
        assert "upload_photo" in [c.params["action"] for c in env.telegram.calls_of("sendChatAction")]
        assert env.telegram.calls_of("sendPhoto")[0].params["_files"] == ["photo"]
        bot.post(env.telegram.make_update("/image a blue whale", chat_id=CHAT))
        wait_for(lambda: len(photos(env, CHAT)) == 2, what="the second photo")
        bot.post(env.telegram.make_update("/image a third one", chat_id=CHAT))
        wait_for(lambda: len(notes(env, CHAT)) == 1, what="the limit")
        assert notes(env, CHAT)[0].startswith("You've made today's images.")
        assert len(env.model.image_requests()) == 2
        bot.post(env.telegram.make_update("/usage", chat_id=CHAT))
        wait_for(lambda: len(notes(env, CHAT)) == 2, what="the usage")
        assert "· gpt-image-1: 2 images · ≈ $0.08" in notes(env, CHAT)[1]


def test_a_refused_prompt_gets_a_friendly_line_and_does_not_count(env: World) -> None:
    env.model.refused_image_words = {"forbidden"}
    with env.bot(DAILY_IMAGES_PER_USER="1", ADMIN_USER_IDS="7") as bot:
        bot.post(env.telegram.make_update("/image something forbidden", chat_id=CHAT))
        wait_for(lambda: len(notes(env, CHAT)) == 1, what="the refusal")
        assert notes(env, CHAT) == ["Sorry, the image model won't make that picture. Try describing it differently."]
        bot.post(env.telegram.make_update("/image", chat_id=CHAT))
        wait_for(lambda: len(notes(env, CHAT)) == 2, what="the hint")
        assert notes(env, CHAT)[1].startswith("Tell me what to draw")
        bot.post(env.telegram.make_update("/image a cat", chat_id=CHAT))
        wait_for(lambda: photos(env, CHAT) == ["a cat"], what="the photo the refusal did not count against")
        for _ in range(2):  # an operator (ADMIN_USER_IDS) is not limited, and gets the photo in a group's topic
            bot.post(env.telegram.make_update("/image a dog", chat_id=GROUP, chat_type="supergroup", user_id=7,
                                              message_thread_id=5, is_topic_message=True))
        wait_for(lambda: len(photos(env, GROUP)) == 2, what="the operator's photos")
        assert {m.thread_id for m in env.telegram.messages(GROUP)} == {5}


def test_moderation_applies_to_the_prompt_and_the_switch_turns_it_off(env: World) -> None:
    env.model.flag_words = {"gore"}
    with env.bot(MODERATION="true") as bot:
        bot.post(env.telegram.make_update("/image lots of gore", chat_id=CHAT))
        wait_for(lambda: len(notes(env, CHAT)) == 1, what="the refusal")
        assert notes(env, CHAT)[0].startswith("Sorry, I can't help with that")
        assert env.model.image_requests() == []
    with env.bot(IMAGE_GENERATION="false") as bot:
        bot.post(env.telegram.make_update("/image a tree", chat_id=CHAT))
        wait_for(lambda: len(notes(env, CHAT)) == 2, what="the switch's note")
        assert notes(env, CHAT)[1] == "Making images is switched off here."


def painting_model(body: dict[str, Any]) -> Behaviour:
    """A model that calls generate_image for "draw X" and, once the result is back, answers with it."""
    messages = body["messages"]
    if messages[-1]["role"] == "tool":
        return Reply("Done: " + messages[-1]["content"])
    asked = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    if asked.startswith("draw ") and "tools" in body:
        return ToolCalls((Call("generate_image", {"prompt": asked.removeprefix("draw ")}),))
    return Reply("Plain answer.")


def answers(w: World, chat: int) -> list[str]:
    return [m.text for m in w.telegram.messages(chat) if not m.photo and m.text.startswith("Done: ")]


def test_the_model_calls_generate_image_the_user_gets_the_photo_then_the_answer(env: World) -> None:
    env.model.default = painting_model
    with env.bot(DAILY_IMAGES_PER_USER="1") as bot:
        bot.post(env.telegram.make_update("draw a red fox in the snow", chat_id=CHAT))
        sent = "Done: The image was sent to the user"
        wait_for(lambda: any(a.startswith(sent) for a in answers(env, CHAT)), what="the answer after the photo")
        assert photos(env, CHAT) == ["a red fox in the snow"]
        assert env.telegram.calls_of("sendPhoto")[0].params["_files"] == ["photo"]
        assert [r["prompt"] for r in env.model.image_requests()] == ["a red fox in the snow"]
        assert "generate_image" in {t["function"]["name"] for t in env.model.chat_requests()[0]["tools"]}
        bot.post(env.telegram.make_update("draw a blue whale", chat_id=CHAT))  # over DAILY_IMAGES_PER_USER
        limit = "Done: Error: the user has made today's images (the daily limit)"
        wait_for(lambda: any(a.startswith(limit) for a in answers(env, CHAT)), what="the answer about the limit")
        assert len(photos(env, CHAT)) == 1 and len(env.model.image_requests()) == 1
