from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.domain.chat import ChatKey
from bot.domain.tools import Progress, ToolContext, ToolError
from bot.tools.clock import CurrentTime

NOW = datetime(2026, 7, 1, 12, 30, 5, tzinfo=UTC)
CONTEXT = ToolContext(ChatKey(1), user_id=1)


async def test_utc_when_no_zone_is_given() -> None:
    answer = json.loads(await CurrentTime(lambda: NOW).run({}, CONTEXT))
    assert answer == {"timezone": "UTC", "datetime": "2026-07-01T12:30:05+00:00", "weekday": "Wednesday",
                      "utc_offset": "+0000"}


async def test_an_iana_zone_gives_local_time_with_summer_offset() -> None:
    answer = json.loads(await CurrentTime(lambda: NOW).run({"timezone": "Europe/Berlin"}, CONTEXT))
    assert answer["datetime"] == "2026-07-01T14:30:05+02:00"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", 5])
async def test_an_unknown_zone_is_an_error_for_the_model(zone: object) -> None:
    with pytest.raises(ToolError):
        await CurrentTime(lambda: NOW).run({"timezone": zone}, CONTEXT)


def test_its_progress_line_is_the_clock() -> None:
    assert CurrentTime().progress({}) == Progress("time")
