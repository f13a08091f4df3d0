"""The /model keyboard's buttons: an id that fits is its own callback_data; a longer one is found by its digest."""

from __future__ import annotations

from bot.domain.models import ModelCatalog
from bot.telegram.model_command import CALLBACK_DATA_LIMIT, MODEL_PREFIX, _data, _pressed

LONG = "accounts/fireworks/models/llama-v3p1-405b-instruct-long-context-variant"


def test_a_long_id_is_pressed_by_its_digest_whatever_the_order_of_models() -> None:
    shown = ModelCatalog((("gpt-4o-mini", "Fast"), (LONG, "Big")), "gpt-4o-mini")
    buttons = {choice.id: _data(choice) for choice in shown}
    assert buttons["gpt-4o-mini"] == MODEL_PREFIX + "gpt-4o-mini"
    assert len(buttons[LONG].encode()) <= CALLBACK_DATA_LIMIT and LONG not in buttons[LONG]
    reordered = ModelCatalog(((LONG, "Big"), ("gpt-4o-mini", "Fast")), "gpt-4o-mini")  # MODELS changed since
    pressed = {model: _pressed(data.removeprefix(MODEL_PREFIX), reordered) for model, data in buttons.items()}
    assert pressed == {"gpt-4o-mini": "gpt-4o-mini", LONG: LONG}
    assert _pressed("#0", reordered) == "#0"  # a digest of no model offered: the unknown id's list follows
