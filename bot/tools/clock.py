"""current_time: the date and time now, in an IANA time zone or UTC."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.tools import JSONObject, Progress, ToolContext, ToolError, ToolSpec

SPEC = ToolSpec(
    name="current_time",
    description="The current date, time and weekday, in an IANA time zone (such as Europe/Berlin) or in UTC.",
    parameters={"type": "object", "properties": {"timezone": {
        "type": "string", "description": "An IANA time zone name, e.g. America/New_York; UTC when omitted."}}},
    title="the clock",
)


class CurrentTime:
    """The clock as a tool (the clock itself is passed in, so tests fix the time)."""

    spec = SPEC

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._now = now

    def progress(self, arguments: JSONObject) -> Progress:
        return Progress("time")

    async def run(self, arguments: JSONObject, context: ToolContext) -> str:
        name = arguments.get("timezone") or "UTC"
        if not isinstance(name, str):
            raise ToolError("timezone must be a string such as Europe/Berlin")
        local = self._now().astimezone(_zone(name))
        return json.dumps({"timezone": name, "datetime": local.isoformat(timespec="seconds"),
                           "weekday": local.strftime("%A"), "utc_offset": local.strftime("%z")})


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"unknown time zone {name[:60]!r}; use an IANA name such as Europe/Berlin") from None
