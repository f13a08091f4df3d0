"""store/keys.py is the only place Redis key names are written; docs/ARCHITECTURE.md's key table is a view of it."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from bot.domain.chat import ChatKey
from bot.store.keys import Keys

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "tg:<bot_id>"


class _Placeholder:
    """Stands for an argument in a key pattern: ``<name>``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return f"<{self.name}>"

    def __format__(self, spec: str) -> str:
        return str(self)


def key_table() -> list[str]:
    """Every key Keys can name, as the markdown rows of the architecture document: pattern, meaning."""
    keys, rows = Keys(PREFIX), []
    for name, member in inspect.getmembers(Keys):
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            pattern, doc = getattr(keys, name), member.__doc__
        else:
            parameters = list(inspect.signature(member).parameters)[1:]
            pattern = getattr(keys, name)(*(_Placeholder(p) for p in parameters))
            doc = member.__doc__
        rows.append(f"| `{pattern}` | {(doc or '').strip()} |")
    return rows


def test_the_architecture_documents_every_key_exactly() -> None:
    document = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    documented = [line for line in document.splitlines() if line.startswith(f"| `{PREFIX}")]
    assert sorted(documented) == sorted(key_table())


def test_no_key_name_is_written_outside_the_registry() -> None:
    key_like = re.compile(r"""f["'][^"']*\{[^}]*(prefix|keys\.prefix)[^}]*\}:""")
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "bot").rglob("*.py")
                 if path.name != "keys.py" and key_like.search(path.read_text())]
    assert offenders == []


def test_a_chats_keys_share_one_hash_slot_and_topics_are_separate() -> None:
    keys, topic = Keys("tg:1"), ChatKey(-100, 7)
    tags = {re.search(r"\{(.*?)\}", key).group(1) for key in  # type: ignore[union-attr]
            (keys.turns(topic), keys.summary(topic), keys.persona(topic), keys.lock(topic))}
    assert tags == {"-100:7"}
    assert keys.turns(ChatKey(-100)) == "tg:1:chat:{-100}:turns"
    assert keys.line(topic).startswith(keys.stream)  # beside the stream, in its slot
