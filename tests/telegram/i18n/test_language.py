"""An update's language: the user's Telegram language_code mapped to a catalog, else the default."""

from __future__ import annotations

import asyncio

import pytest

from bot.telegram.i18n import language


@pytest.mark.parametrize(("code", "chosen"), [
    ("de", "de"), ("pt-br", "pt"), ("pt-BR", "pt"), ("es-419", "es"), ("uk", "uk"), ("zh", "zh-hans"),
    ("zh-hans", "zh-hans"), ("zh-CN", "zh-hans"), ("zh-hant", "zh-hans"), ("in", "id"), ("en-GB", "en"),
    ("ar", "ar"), ("fa-IR", "fa"),
])
def test_a_telegram_language_code_picks_its_catalog(code: str, chosen: str) -> None:
    assert language.choose(code, "en") == chosen


@pytest.mark.parametrize("code", [None, "", "ja", "xx-yy", "he"])
def test_a_language_without_a_catalog_gets_the_default(code: str | None) -> None:
    assert language.choose(code, "de") == "de"


async def test_each_update_task_keeps_its_own_language() -> None:
    seen: dict[str, str] = {}

    async def update(code: str) -> None:
        language.use(code)
        await asyncio.sleep(0.01)
        seen[code] = language.current()

    await asyncio.gather(update("de"), update("ar"))
    assert seen == {"de": "de", "ar": "ar"}
    assert language.current() == "en"


def test_speaking_sets_the_language_for_a_block_only() -> None:
    with language.speaking("fr"):
        assert language.current() == "fr"
    assert language.current() == "en"
