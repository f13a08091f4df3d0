"""The English messages the catalogs translate: the prose of telegram/texts.py, its f-strings as templates whose
``{placeholders}`` are their fields' source, and the built-in personas' descriptions.

``python -m bot.telegram.i18n`` writes them to locale/messages.pot and brings every catalog up to date.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2]
TEXTS = PACKAGE / "telegram" / "texts.py"
PERSONAS = PACKAGE / "domain" / "personas.toml"
PLURAL = "plural"  # texts.py's plural(count, one, other): one message with two English forms

_FIELD = re.compile(r"\{\{|\}\}|\{[^{}]*\}")
_WORD = re.compile(r"[^\W\d_]{2,}")
_NAME = re.compile(r"[a-z0-9_]+")  # a command or a key, not prose


class MessageError(Exception):
    """texts.py holds a text the catalogs cannot key."""


@dataclass(frozen=True)
class Message:
    """One catalog entry's English: its text (``plural`` the other form, for counted texts) and where it is."""

    id: str
    plural: str | None
    where: tuple[str, int]


def extract() -> list[Message]:
    """Every message, in the order of the sources, each once."""
    found: dict[str, Message] = {}
    for message in [*_from_texts(TEXTS), *_from_personas(PERSONAS)]:
        found.setdefault(message.id, message)
    return list(found.values())


def placeholders(text: str) -> list[str]:
    """The ``{fields}`` of a message, sorted (a translation must keep exactly these)."""
    return sorted(token for token in _FIELD.findall(text) if token not in ("{{", "}}"))


def tokens(text: str) -> list[str]:
    """A message cut into literal text, ``{{``/``}}`` escapes and ``{fields}``."""
    parts, last = [], 0
    for match in _FIELD.finditer(text):
        parts += [text[last:match.start()], match.group()]
        last = match.end()
    return [part for part in [*parts, text[last:]] if part]


def template(node: ast.JoinedStr) -> str:
    """An f-string as its message: literal braces doubled, each field as ``{source!conversion:spec}``."""
    out = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            out.append(str(value.value).replace("{", "{{").replace("}", "}}"))
        elif isinstance(value, ast.FormattedValue):
            out.append(field(value))
    return "".join(out)


def field(value: ast.FormattedValue) -> str:
    """One f-string field as a placeholder."""
    conversion = f"!{chr(value.conversion)}" if value.conversion != -1 else ""
    spec = ""
    if isinstance(value.format_spec, ast.JoinedStr):
        spec = ":" + template(value.format_spec)
    placeholder = "{" + ast.unparse(value.value) + conversion + spec + "}"
    if placeholders(placeholder) != [placeholder]:
        raise MessageError(f"texts.py:{value.lineno}: a field the catalogs cannot name: {placeholder}")
    return placeholder


def is_prose(text: str) -> bool:
    """A text people read: words outside its placeholders, and not a lone command name or key."""
    return bool(_WORD.search(_FIELD.sub("", text))) and not _NAME.fullmatch(text)


def texts_in(tree: ast.Module) -> Iterator[ast.Constant | ast.JoinedStr]:
    """The nodes of texts.py that are messages, outside docstrings and plural(): prose strings, and f-strings with
    any text between their fields ("• {name} — {description}": punctuation and direction differ by language)."""
    for node in _walk(tree):
        if isinstance(node, ast.JoinedStr | ast.Constant) and _is_message(node):
            yield node


def _is_message(node: ast.JoinedStr | ast.Constant) -> bool:
    if isinstance(node, ast.JoinedStr):
        return bool(_FIELD.sub("", template(node)).strip())
    return isinstance(node.value, str) and is_prose(node.value)


def plurals_in(tree: ast.Module) -> Iterator[ast.Call]:
    """The plural(count, "{count} day", "{count} days") calls, their forms checked to be plain strings."""
    for node in ast.walk(tree):
        if _is_plural(node) and isinstance(node, ast.Call):
            forms = node.args[1:3]
            if len(forms) != 2 or not all(isinstance(f, ast.Constant) and isinstance(f.value, str) for f in forms):
                raise MessageError(f"texts.py:{node.lineno}: plural() takes a count and two plain strings")
            yield node


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node, without docstrings, plural() calls, or the insides of f-strings (their fields are code)."""
    for child in ast.iter_child_nodes(node):
        if _is_docstring(node, child) or _is_plural(child):
            continue
        yield child
        if not isinstance(child, ast.JoinedStr):
            yield from _walk(child)


def _is_docstring(parent: ast.AST, child: ast.AST) -> bool:
    body = getattr(parent, "body", None)
    return (isinstance(body, list) and bool(body) and child is body[0] and isinstance(child, ast.Expr)
            and isinstance(child.value, ast.Constant) and isinstance(child.value.value, str))


def _is_plural(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == PLURAL


def _from_texts(path: Path) -> Iterator[Message]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = path.name
    for node in sorted([*texts_in(tree), *plurals_in(tree)], key=lambda n: (n.lineno, n.col_offset)):
        if isinstance(node, ast.Call):
            one, other = (str(f.value) for f in node.args[1:3] if isinstance(f, ast.Constant))
            yield Message(one, other, (where, node.lineno))
        elif isinstance(node, ast.JoinedStr):
            yield Message(template(node), None, (where, node.lineno))
        else:
            yield Message(str(node.value), None, (where, node.lineno))


def _from_personas(path: Path) -> Iterator[Message]:
    """The built-in personas' descriptions (the /persona list shows them; operators' own stay as written)."""
    for entry in tomllib.loads(path.read_text(encoding="utf-8")).values():
        yield Message(str(entry["description"]).strip(), None, (path.name, 0))
