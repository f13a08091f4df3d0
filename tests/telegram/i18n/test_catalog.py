"""Every catalog translates every English message of texts.py, with the English placeholders; the English
extraction (locale/messages.pot) is current; each catalog's plural rule is CLDR's, as Babel has it."""

from __future__ import annotations

from copy import deepcopy

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.telegram.i18n import catalog
from bot.telegram.i18n.__main__ import LOCALE
from bot.telegram.i18n.language import ENGLISH, SUPPORTED
from bot.telegram.i18n.messages import extract

TRANSLATED = [language for language in SUPPORTED if language != ENGLISH]


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalog_translates_every_message_with_the_english_placeholders(language: str) -> None:
    assert catalog.problems(catalog.read(language), extract()) == [], (
        "run `python -m bot.telegram.i18n` and translate what it adds (see bot/telegram/texts.py)")


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_plural_rule_is_cldr_s(language: str) -> None:
    assert catalog.read(language).plural_forms == Catalog(locale=catalog.locale_id(language)).plural_forms


def test_the_english_extraction_is_current() -> None:
    with (LOCALE / "messages.pot").open("rb") as source:
        template = read_po(source)
    committed = [(entry.id if isinstance(entry.id, str) else tuple(entry.id)) for entry in template if entry.id]
    fresh = [message.id if message.plural is None else (message.id, message.plural) for message in extract()]
    assert committed == fresh, "locale/messages.pot is stale: run `python -m bot.telegram.i18n`"


def test_every_language_has_a_catalog_in_the_package() -> None:
    assert all(catalog.po_file(language).is_file() for language in TRANSLATED)


def test_a_missing_message_and_a_changed_placeholder_are_problems() -> None:
    messages = extract()
    broken = deepcopy(catalog.read("de"))
    del broken[messages[0].id]
    persona = next(m for m in messages if "{KEPT_HISTORY}" in m.id and "{name}" in m.id)
    broken[persona.id].string = "Persona gewechselt zu „{nome}“. {KEPT_HISTORY}"
    day = next(m for m in messages if m.plural == "{count} days")
    broken[day.id].string = ("{count} Tag", "")
    found = catalog.problems(broken, messages)
    assert [problem.split(":")[1].strip() for problem in found] == [
        "missing", "placeholders ['{KEPT_HISTORY}', '{nome}'] instead of ['{KEPT_HISTORY}', '{name}']", "untranslated"]


def test_a_message_no_longer_in_texts_is_a_problem() -> None:
    stale = deepcopy(catalog.read("fr"))
    stale.add("A text someone removed", "Un texte supprimé")
    assert catalog.problems(stale, extract()) == ["fr: no such message: 'A text someone removed'"]


def test_a_fuzzy_or_empty_translation_stays_english() -> None:
    fuzzy = deepcopy(catalog.read("it"))
    first = extract()[0]
    fuzzy[first.id].flags.add("fuzzy")
    assert catalog.problems(fuzzy, extract()) == [f"it: fuzzy: {first.id!r}"]
