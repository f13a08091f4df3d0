"""From the TOOLS setting to a Toolbox: each name there stands for a factory of one or more tools."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from bot.domain.tools import Tool, Toolbox

logger = logging.getLogger(__name__)

# A TOOLS name's tools ("reminders" stands for set_reminder, list_reminders and cancel_reminder).
ToolFactory = Callable[[], Sequence[Tool]]


def build_toolbox(names: Sequence[str], factories: Mapping[str, ToolFactory]) -> Toolbox:
    """The tools of the names, in their order; a name this build has no factory for offers nothing (logged)."""
    toolbox = Toolbox()
    for name in names:
        factory = factories.get(name)
        if factory is None:
            logger.debug("TOOLS names %s, which this build does not provide; going on without it", name)
            continue
        for tool in factory():
            toolbox.add(tool)
    return toolbox
