"""What counts as a message of texts.py, and how an f-string becomes one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.telegram.i18n import messages
from bot.telegram.i18n.messages import MessageError, placeholders, tokens

SAMPLE = '''"""A module docstring is not a message."""
from bot.telegram.i18n.english import plural

GREETING = "Hello there"
MENU = (("start", "What I can do"),)
PREFIX = "\\u2713 "


def hello(name: str, tokens: int) -> str:
    """Nor is a function's."""
    return f"Hi {name}, you used {tokens:,} tokens {{so far}}"


def entry(name: str, description: str) -> str:
    return "\\n".join([f"• {name} — {description}", f"{name}{description}"])


def days(count: int) -> str:
    return plural(count, "{count} day", "{count} days")
'''


def _messages(tmp_path: Path, source: str) -> list[tuple[str, str | None]]:
    path = tmp_path / "texts.py"
    path.write_text(source)
    return [(m.id, m.plural) for m in messages._from_texts(path)]


def test_prose_f_strings_with_their_fields_and_plurals_are_messages(tmp_path: Path) -> None:
    assert _messages(tmp_path, SAMPLE) == [
        ("Hello there", None), ("What I can do", None),
        ("Hi {name}, you used {tokens:,} tokens {{so far}}", None), ("• {name} — {description}", None),
        ("{count} day", "{count} days")]


def test_a_field_the_catalogs_cannot_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MessageError, match=r"texts\.py:2"):
        _messages(tmp_path, 'def f(width: int, x: float) -> str:\n    return f"Value {x:{width}} here"\n')


def test_plural_takes_plain_strings_only(tmp_path: Path) -> None:
    with pytest.raises(MessageError, match="plural"):
        _messages(tmp_path, 'def f(n: int, s: str) -> str:\n    return plural(n, f"{s} day", "{count} days")\n')


def test_placeholders_and_tokens_keep_escaped_braces_apart() -> None:
    text = "Hi {name}, {{literal}} {tokens:,}"
    assert placeholders(text) == ["{name}", "{tokens:,}"]
    assert tokens(text) == ["Hi ", "{name}", ", ", "{{", "literal", "}}", " ", "{tokens:,}"]


def test_the_real_texts_yield_the_built_in_personas_and_the_commands_text() -> None:
    found = [message.id for message in messages.extract()]
    assert "A patient coding tutor who explains step by step" in found
    assert any(text.startswith("Just write to me") for text in found)
    assert "start" not in found and "persona:" not in found
    assert len(found) == len(set(found))


def test_a_template_renders_conversions_and_specs() -> None:
    node = ast.parse('f"{a!r} {b:>4} {c.d}"', mode="eval").body
    assert isinstance(node, ast.JoinedStr)
    assert messages.template(node) == "{a!r} {b:>4} {c.d}"
