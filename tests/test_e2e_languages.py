"""End to end: the bot's own texts, menus and profile in each user's Telegram language."""

from __future__ import annotations

from tests.e2e import World
from tests.fake_openai import Fail
from tests.http_fake import wait_for

GERMAN, ARABIC, JAPANESE, FRENCH = 51, 52, 53, 54
PRIVATE = {"type": "all_private_chats"}


def test_each_user_reads_the_greeting_and_an_error_in_their_language_or_the_default(env: World) -> None:
    env.model.script(Fail(400, "rejected"), Fail(400, "rejected"))
    with env.bot(DEFAULT_LANGUAGE="es") as bot:
        bot.post(env.telegram.make_update("/start", chat_id=GERMAN, language_code="de"))
        bot.post(env.telegram.make_update("/start", chat_id=ARABIC, language_code="ar"))
        bot.post(env.telegram.make_update("/help", chat_id=JAPANESE, language_code="ja"))
        bot.post(env.telegram.make_update("/persona", chat_id=FRENCH, language_code="fr"))
        wait_for(lambda: all(env.telegram.texts(chat) for chat in (GERMAN, ARABIC, JAPANESE, FRENCH)),
                 what="the greetings")
        bot.post(env.telegram.make_update("Erzähl mir was", chat_id=GERMAN, language_code="de-AT"))
        wait_for(lambda: len(env.telegram.texts(GERMAN)) == 2, what="the German apology")
        bot.post(env.telegram.make_update("أخبرني شيئًا", chat_id=ARABIC, language_code="ar"))
        wait_for(lambda: len(env.telegram.texts(ARABIC)) == 2, what="the Arabic apology")
    greeting, apology = env.telegram.texts(GERMAN)
    assert greeting.startswith("Hallo! Ich bin ein KI-Assistent.") and "/help" in greeting
    assert apology == ("Entschuldige, das Modell konnte darauf nicht antworten. Formuliere es anders oder fang mit "
                       "/reset neu an.")
    greeting, apology = env.telegram.texts(ARABIC)
    assert greeting.startswith("مرحبًا! أنا مساعد ذكاء اصطناعي.")
    assert apology == "عذرًا، لم يستطع النموذج الإجابة عن ذلك. جرّب إعادة الصياغة، أو أرسل /reset للبدء من جديد."
    assert env.telegram.texts(JAPANESE)[0].startswith("Solo escríbeme: mantengo el contexto de nuestro chat.")
    (personas,) = env.telegram.messages(FRENCH)
    assert personas.text.startswith("Persona actuelle : default — Un assistant serviable et concis\n\nPersonas :\n")
    assert "• tutor — Un tuteur de programmation patient qui explique pas à pas" in personas.text
    assert personas.reply_markup is not None


def test_menus_and_profile_are_set_per_language_once(env: World) -> None:
    with env.bot(BOT_SHORT_DESCRIPTION="Trains, timetables and tickets."):
        sets = len(env.telegram.calls_of("setMyCommands"))
    assert sets == 2 * 15  # private and group menus: everyone's (English) and 14 languages'
    assert {c["command"]: c["description"] for c in env.telegram.commands(PRIVATE, "de")}["usage"] == (
        "Tokens heute und diesen Monat")
    assert env.telegram.commands(PRIVATE, "zh")[0] == {"command": "start", "description": "我能做什么"}
    assert env.telegram.profile("short_description") == "Trains, timetables and tickets."
    assert env.telegram.profile("description", "pl").startswith("Cześć! Jestem asystentem AI.")
    assert env.telegram.profile("short_description", "uk").startswith("ШІ-асистент")
    env.telegram.clear()
    with env.bot(BOT_SHORT_DESCRIPTION="Trains, timetables and tickets."):
        unchanged = [call.method for call in env.telegram.calls if call.method.lower().startswith("setmy")]
        asked = len(env.telegram.calls_of("getMyCommands"))
    assert unchanged == [] and asked == 30
