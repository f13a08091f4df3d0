"""The translation catalogs: locale/<language>/LC_MESSAGES/messages.po in the package, compiled by Babel when read
(nothing compiled is kept in the tree, so an install from a clean checkout has every language)."""

from __future__ import annotations

import gettext
import io
from importlib import resources
from importlib.resources.abc import Traversable

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.catalog import Message as Entry
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from bot.telegram.i18n.messages import Message, placeholders

DOMAIN = "messages"


def locale_id(language: str) -> str:
    """Babel's (and the catalog directory's) name for a language tag: ``zh-hans`` → ``zh_Hans``."""
    return str(Locale.parse(language, sep="-"))


def locale_directory() -> Traversable:
    return resources.files("bot.telegram.i18n").joinpath("locale")


def po_file(language: str) -> Traversable:
    return locale_directory().joinpath(locale_id(language), "LC_MESSAGES", f"{DOMAIN}.po")


def read(language: str) -> Catalog:
    """A language's catalog as Babel reads it (fuzzy entries included; they are not used)."""
    with po_file(language).open("rb") as source:
        return read_po(source, locale=locale_id(language), domain=DOMAIN)


def translations(language: str) -> gettext.NullTranslations:
    """A language's compiled catalog; a message it lacks (or has only fuzzy) stays in English."""
    compiled = io.BytesIO()
    write_mo(compiled, read(language), use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def problems(translated: Catalog, messages: list[Message]) -> list[str]:
    """What keeps a catalog from translating every message: missing, fuzzy or empty entries, entries whose
    placeholders differ from the English (a plural form may leave out the count), and entries no message has."""
    found = []
    for message in messages:
        entry = translated.get(message.id)
        problem = "missing" if entry is None else _problem(entry, message, translated.num_plurals)
        if problem:
            found.append(f"{translated.locale}: {problem}: {message.id!r}")
    wanted = {message.id for message in messages}
    found += [f"{translated.locale}: no such message: {entry.id!r}" for entry in translated
              if entry.id and _key(entry) not in wanted]
    return found


def _problem(entry: Entry, message: Message, plural_forms: int) -> str | None:
    forms = [str(form or "") for form in (entry.string if isinstance(entry.string, tuple | list) else [entry.string])]
    if entry.fuzzy:
        return "fuzzy"
    if (entry.id[1] if isinstance(entry.id, tuple) else None) != message.plural:
        return "singular or plural unlike the English"
    if len(forms) != (plural_forms if message.plural else 1) or not all(forms):
        return "untranslated"
    if message.plural is None and placeholders(forms[0]) != placeholders(message.id):
        return f"placeholders {placeholders(forms[0])} instead of {placeholders(message.id)}"
    if not all(set(placeholders(form)) <= set(placeholders(message.id)) for form in forms):
        return f"placeholders other than {placeholders(message.id)}"
    return None


def _key(entry: Entry) -> str:
    return entry.id[0] if isinstance(entry.id, tuple) else str(entry.id)
