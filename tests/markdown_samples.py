"""A model-like Markdown answer, and ways to look at what rendering made of it (shared by render and splitter tests)."""

from __future__ import annotations

import re
from itertools import accumulate

from telegram import MessageEntity

from bot.telegram.markdown.render import Rendered

ANSWER = """# Installing the tool

Here is **how to install** it, step by step. You need *Python 3.11* and `pip`.

## Steps

1. Create a virtual environment:
   ```bash
   python -m venv .venv
   ```
2. Install the package with `pip install tool` — see [the docs](https://example.com/docs?page=1).
3. Check it works:

```python
import tool

def main() -> None:
    print(tool.version(), 2 ** 8)  # literal ** stays inside code
```

> **Note:** on Windows use `py` instead of `python`.

| option | meaning |
|--------|---------|
| `-v`   | verbose |

That's all! 🎉 Questions? 有问题吗？
"""


def entity_text(rendered: Rendered, entity: MessageEntity) -> str:
    data = rendered.text.encode("utf-16-le")
    return data[2 * entity.offset : 2 * (entity.offset + entity.length)].decode("utf-16-le")


def outside_code(rendered: Rendered) -> str:
    """The text with code and pre entities blanked out."""
    units = list(accumulate((2 if ord(char) > 0xFFFF else 1 for char in rendered.text), initial=0))
    code = [(e.offset, e.offset + e.length) for e in rendered.entities if e.type in ("code", "pre")]
    return "".join(" " if any(lo <= units[i] < hi for lo, hi in code) else char
                   for i, char in enumerate(rendered.text))


def raw_markers(rendered: Rendered) -> list[str]:
    return re.findall(r"\*\*|__|```|^[ \t]*#+(?:[ \t]|$)", outside_code(rendered), re.MULTILINE)
