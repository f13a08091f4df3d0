from __future__ import annotations

import logging

import pytest

from bot.tools.clock import CurrentTime
from bot.tools.registry import build_toolbox


def test_the_named_tools_are_offered_in_order() -> None:
    toolbox = build_toolbox(("time",), {"time": lambda: [CurrentTime()], "other": lambda: []})
    assert [spec.name for spec in toolbox.specs()] == ["current_time"]


def test_a_name_without_a_factory_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="bot.tools.registry"):
        toolbox = build_toolbox(("reminders", "time"), {"time": lambda: [CurrentTime()]})
    assert len(toolbox) == 1
    assert "reminders" in caplog.text
