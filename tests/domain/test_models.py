from __future__ import annotations

import pytest

from bot.domain.models import ModelCatalog

CATALOG = ModelCatalog((("gpt-4o-mini", "Fast"), ("gpt-4o", "Smart")), "gpt-4o-mini")


def test_a_model_is_found_by_id_or_label_in_any_case() -> None:
    assert CATALOG.find("SMART") == CATALOG.find("gpt-4o") == CATALOG.choice("gpt-4o")
    assert CATALOG.find("gpt-5") is None
    assert [c.label for c in CATALOG] == ["Fast", "Smart"] and len(CATALOG) == 2


def test_a_stored_choice_no_longer_offered_means_the_default() -> None:
    assert CATALOG.resolve("gpt-4o") == "gpt-4o"
    assert CATALOG.resolve("o1") == CATALOG.resolve(None) == "gpt-4o-mini"
    assert CATALOG.choice("o1").id == "gpt-4o-mini"


def test_the_default_must_be_offered() -> None:
    with pytest.raises(ValueError, match="not offered"):
        ModelCatalog((("gpt-4o", "gpt-4o"),), "gpt-4o-mini")
