"""texts.X in the update's language: constants, dicts and menus, f-string functions, plurals, right-to-left."""

from __future__ import annotations

import ast
import io
import unicodedata
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations

from bot.domain.outcome import Ending, Failure
from bot.telegram import texts
from bot.telegram.i18n import variant
from bot.telegram.i18n.language import RIGHT_TO_LEFT, SUPPORTED, speaking
from bot.telegram.i18n.variant import RLM, mark_paragraphs
from tests.telegram.test_texts import BOT


def test_english_is_texts_py_itself() -> None:
    assert texts.STOP_BUTTON == "⏹ Stop"
    assert texts.persona_switched("tutor").startswith("Persona switched to “tutor”.")


def test_constants_dicts_and_menus_are_in_the_update_s_language() -> None:
    with speaking("de"):
        assert texts.STOP_BUTTON == "⏹ Stopp"
        assert texts.NOTES[Ending.STOPPED] == "⏹ gestoppt"
        assert dict(texts.PRIVATE_MENU)["reset"] == "Unser Gespräch vergessen"
        assert texts.USAGE_PERIODS == ("Heute", "Diesen Monat")
    assert texts.STOP_BUTTON == "⏹ Stop"


def test_a_function_fills_its_fields_into_the_translation_with_its_own_language_s_constants() -> None:
    with speaking("ru"):
        assert texts.persona_switched("tutor") == (
            "Персона переключена на «tutor». Наш разговор сохранён; новая персона действует с моего следующего ответа.")
        assert texts.persona_too_long(1234, 500) == (
            "В этой персоне токенов: 1\xa0234, а лимит — 500. Пожалуйста, сократите её.")
        assert texts.failure(Failure.USER_BUDGET, texts.until(3, 5)).endswith("00:00 UTC (через 3 ч 5 мин).")


def test_numbers_are_grouped_as_each_language_groups_them() -> None:
    with speaking("de"):
        assert texts.usage_line(texts.YOUR_USAGE, 12345, 678, None) == "Dein Verbrauch: 12.345 Tokens rein · 678 raus"
    assert texts.usage_line(texts.YOUR_USAGE, 12345, 678, None) == "Your usage: 12,345 tokens in · 678 out"


@pytest.mark.parametrize(("language", "counts", "words"), [
    ("ru", (1, 2, 5, 11, 21, 22), ["1 день", "2 дня", "5 дней", "11 дней", "21 день", "22 дня"]),
    ("uk", (1, 3, 12, 31), ["1 день", "3 дні", "12 днів", "31 день"]),
    ("pl", (1, 2, 5, 22, 25), ["1 dzień", "2 dni", "5 dni", "22 dni", "25 dni"]),
    ("ar", (1, 2, 3, 11, 100), ["يوم واحد", "يومان", "3 أيام", "11 يومًا", "100 يوم"]),
    ("fr", (1, 2), ["1 jour", "2 jours"]),
    ("zh-hans", (1, 30), ["1 天", "30 天"]),
])
def test_counted_words_take_each_language_s_plural_forms(language: str, counts: tuple[int, ...],
                                                         words: list[str]) -> None:
    with speaking(language):
        assert [texts.duration(count * 86400) for count in counts] == words


def test_stats_counts_its_users_and_chats_in_each_language_s_plural_with_grouped_digits() -> None:
    assert texts.stats_head("Today (UTC)", 1, 1) == "Today (UTC): 1 user · 1 chat"
    assert texts.stats_head("Today (UTC)", 3, 1234) == "Today (UTC): 3 users · 1,234 chats"
    with speaking("ru"):
        assert texts.stats_head("Сегодня", 1, 1234) == "Сегодня: 1 пользователь · 1\xa0234 чата"
    with speaking("de"):
        assert texts.stats_head("Heute", 5, 1) == "Heute: 5 Nutzer · 1 Chat"
    with speaking("ar"):
        assert texts.stats_head("اليوم", 1, 3).endswith("مستخدم واحد · 3 محادثات")


def test_hours_and_seconds_are_counted_too() -> None:
    with speaking("ru"):
        assert [texts.duration(s) for s in (3600, 7200, 18000, 1, 3, 45)] == [
            "1 час", "2 часа", "5 часов", "1 секунду", "3 секунды", "45 секунд"]


def test_built_in_persona_descriptions_are_translated_and_others_stay_as_written() -> None:
    with speaking("es"):
        assert texts.persona_description("A helpful, concise assistant") == "Un asistente útil y conciso"
        assert texts.persona_description("My operator's own persona") == "My operator's own persona"


def _lines(language: str) -> list[str]:
    with speaking(language):
        rendered = [value for name in dir(texts) if name.isupper() and isinstance(value := getattr(texts, name), str)]
        rendered += [*texts.NOTES.values(), *texts.FAILURES.values(), *texts.USAGE_PERIODS]
        rendered += [description for _, description in (*texts.PRIVATE_MENU, *texts.GROUP_MENU)]
        rendered += [texts.persona_list([("tutor", "x")]), texts.current_persona("tutor", "x"),
                     texts.usage_line(texts.YOUR_USAGE, 1200, 300, 0.5),
                     texts.privacy(texts.duration(86400), texts.duration(3600), texts.duration(2)),
                     texts.unknown_persona("bob", "list"), texts.persona_switched("tutor")]
    return [line for text in rendered for line in text.split("\n") if line.strip()]


@pytest.mark.parametrize("language", sorted(RIGHT_TO_LEFT))
def test_every_right_to_left_line_starts_right_to_left(language: str) -> None:
    def first_strong(line: str) -> str:
        return next((unicodedata.bidirectional(c) for c in line if unicodedata.bidirectional(c) in ("L", "R", "AL")),
                    "none")
    assert [line for line in _lines(language) if first_strong(line) == "L"] == []
    assert any(line.startswith(RLM + "/start") for line in _lines(language))


def test_left_to_right_languages_get_no_marks() -> None:
    assert not any(RLM in line for language in SUPPORTED if language not in RIGHT_TO_LEFT
                   for line in _lines(language))


def test_marks_go_before_paragraphs_that_would_start_left_to_right_only() -> None:
    assert mark_paragraphs("مرحبا\n/start — ابدأ\n• {name} — {description}") == (
        f"مرحبا\n{RLM}/start — ابدأ\n• {RLM}{{name}} — {{description}}")
    assert mark_paragraphs(" · ≈ ${cost:.4f}") == " · ≈ ${cost:.4f}"
    assert mark_paragraphs("  · {model}: {n} إدخال") == f"  · {RLM}{{model}}: {{n}} إدخال"


def test_a_translation_with_wrong_placeholders_or_none_falls_back_to_english(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text('GREETING = "Good morning"\n\ndef hello(name: str) -> str:\n    return f"Hello {name}!"\n')
    entries = Catalog(locale="de")
    entries.add("Hello {name}!", "Hallo {nome}!")
    compiled = io.BytesIO()
    write_mo(compiled, entries)
    compiled.seek(0)
    module = variant.build(source, "sample", "de", Translations(compiled))
    assert module.hello("Ann") == "Hello Ann!"
    assert module.GREETING == "Good morning"


def test_a_translated_f_string_may_reorder_its_fields(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text('def line(label: str, n: int) -> str:\n    return f"{label}: {n:,} tokens"\n')
    entries = Catalog(locale="zh_Hans")
    entries.add("{label}: {n:,} tokens", "{n:,} 个 token（{label}）")
    compiled = io.BytesIO()
    write_mo(compiled, entries)
    compiled.seek(0)
    module = variant.build(source, "sample", "zh-hans", Translations(compiled))
    assert module.line("今天", 1234) == "1,234 个 token（今天）"


_KEYS_ONLY = frozenset({"frozenset", "set", "len"})


def _read_at_import(path: Path) -> list[str]:
    """``texts.X`` evaluated when a module is imported (a module constant, a default, a class attribute), or names
    imported from texts: those values would stay English for everyone, since the language is known per update."""
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "texts"
                and not in_function):
            found.append(f"{path.name}:{node.lineno}: texts.{node.attr}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _KEYS_ONLY:
            return  # frozenset(texts.CANNOT_READ): the keys, which are no texts
        if isinstance(node, ast.ImportFrom) and node.module == "bot.telegram.texts":  # names copied in English
            found.append(f"{path.name}:{node.lineno}: from bot.telegram.texts import …")
        for name, child in ast.iter_fields(node):
            body = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and name == "body"
            for item in child if isinstance(child, list) else [child]:
                if isinstance(item, ast.AST):
                    visit(item, in_function or body)

    visit(ast.parse(path.read_text()), False)
    return found


def test_no_module_reads_a_text_at_import_time() -> None:
    offenders = [hit for path in sorted(BOT.rglob("*.py")) for hit in _read_at_import(path)]
    assert offenders == []


def test_the_import_time_check_finds_a_captured_text(tmp_path: Path) -> None:
    source = tmp_path / "handler.py"
    source.write_text("from bot.telegram.texts import SORRY\nLABEL = texts.STOP_BUTTON\nKINDS = set(texts.NOTES)\n\n"
                      "def f(x=texts.SORRY):\n    return texts.RESET\n")
    assert _read_at_import(source) == ["handler.py:1: from bot.telegram.texts import …",
                                       "handler.py:2: texts.STOP_BUTTON", "handler.py:5: texts.SORRY"]
