"""``python -m bot.telegram.i18n``: write texts.py's English to locale/messages.pot and bring each language's
catalog up to date with it (new messages added untranslated, changed ones kept fuzzy, removed ones dropped); then
translate or revise what it marks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.telegram.i18n.catalog import DOMAIN, locale_id
from bot.telegram.i18n.language import ENGLISH, SUPPORTED
from bot.telegram.i18n.messages import extract

LOCALE = Path(__file__).resolve().parent / "locale"
_FIXED = datetime(2026, 1, 1, tzinfo=UTC)  # the files change only when their messages do


def english() -> Catalog:
    """The messages as a template catalog."""
    template = Catalog(domain=DOMAIN, project="telegram-llm-bot", creation_date=_FIXED, revision_date=_FIXED,
                       fuzzy=False)
    for message in extract():
        key = message.id if message.plural is None else (message.id, message.plural)
        template.add(key, locations=[message.where], flags=["python-brace-format"])
    return template


def update(template: Catalog, language: str) -> Path:
    """Merge the template into a language's catalog, creating it when missing."""
    path = LOCALE / locale_id(language) / "LC_MESSAGES" / f"{DOMAIN}.po"
    if path.exists():
        with path.open("rb") as source:
            catalog = read_po(source, locale=locale_id(language), domain=DOMAIN)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=locale_id(language), domain=DOMAIN, project="telegram-llm-bot",
                          creation_date=_FIXED, revision_date=_FIXED, fuzzy=False)
    catalog.update(template)  # a changed message keeps its old translation, marked fuzzy until revised
    catalog.revision_date = _FIXED
    with path.open("wb") as target:
        write_po(target, catalog, width=120, ignore_obsolete=True, include_previous=False)
    return path


def main() -> None:
    template = english()
    with (LOCALE / f"{DOMAIN}.pot").open("wb") as target:
        write_po(target, template, width=120)
    for language in SUPPORTED:
        if language != ENGLISH:
            print(update(template, language))


if __name__ == "__main__":
    main()
