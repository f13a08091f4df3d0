"""Each language's copy of telegram/texts.py: its source with every message (messages.py) replaced by the
catalog's translation, compiled once per process and language. ``texts.X`` then resolves in the language of the
update being handled, so callers and the texts' authors write English only.

A function's f-string comes back with the same fields in the translation's order, and a copy's constants are its
own, so ``f"... {KEPT_HISTORY}"`` in German includes the German constant, and ``{n:,}`` groups digits the German
way. Right-to-left copies begin each paragraph
that would otherwise start left-to-right (a command, a name, a number) with a RIGHT-TO-LEFT MARK.
"""

from __future__ import annotations

import ast
import builtins
import copy
import gettext
import logging
import sys
import unicodedata
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

from babel.numbers import format_decimal

from bot.telegram.i18n import catalog
from bot.telegram.i18n.language import ENGLISH, RIGHT_TO_LEFT, current
from bot.telegram.i18n.messages import field, placeholders, template, texts_in, tokens

logger = logging.getLogger(__name__)

RLM = "\u200f"
_VARIANTS = "__variants__"
_GROUPED = "__grouped__"  # a copy's own number formatter
_GROUPED_COUNT = "{count:,}"


class LocalizedModule(ModuleType):
    """texts.py as the code sees it: each public name looked up in the current update's language."""

    def __getattribute__(self, name: str) -> Any:
        language = current()
        if language == ENGLISH or name.startswith("_"):
            return super().__getattribute__(name)
        return getattr(variant(self, language), name)


def localize(name: str) -> None:
    """Make the module ``name`` (texts.py, at its end) speak the current language; its copies are left alone."""
    module = sys.modules.get(name)
    if module is not None:
        module.__class__ = LocalizedModule
        setattr(module, _VARIANTS, {})


def variant(module: ModuleType, language: str) -> ModuleType:
    """``module`` in ``language``, built on first use."""
    variants: dict[str, ModuleType] = object.__getattribute__(module, _VARIANTS)
    if language not in variants:
        path = Path(str(object.__getattribute__(module, "__file__")))
        try:
            translations = catalog.translations(language)
        except Exception:  # a broken catalog (tests/telegram/i18n catches them) must not stop the answers
            logger.exception("the %s catalog cannot be read; its users get English", language)
            translations = gettext.NullTranslations()
        variants[language] = build(path, module.__name__, language, translations)
    return variants[language]


def build(path: Path, name: str, language: str, translations: gettext.NullTranslations) -> ModuleType:
    """Compile the source at ``path`` with its messages translated into ``language``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    _Translator(tree, translations, language in RIGHT_TO_LEFT).visit(tree)
    copied = ModuleType(f"{name}[{language}]")
    copied.__dict__.update(__file__=str(path), __builtins__=builtins)
    exec(compile(tree, str(path), "exec"), copied.__dict__)
    grouped = partial(format_decimal, locale=catalog.locale_id(language))
    copied.__dict__.update({"plural": _plural(translations, grouped), "packaged": translations.gettext,
                            _GROUPED: grouped})
    return copied


def _plural(translations: gettext.NullTranslations,
            grouped: Callable[[int], str]) -> Callable[[int, str, str], str]:
    def plural(count: int, one: str, other: str) -> str:
        form = translations.ngettext(one, other, count)
        if not set(placeholders(form)) <= set(placeholders(one)):  # a form may leave the number out ("يومان")
            form = one if count == 1 else other
        if _GROUPED_COUNT in form:  # "{count:,} users": digits grouped as the language groups them
            return form.replace(_GROUPED_COUNT, "{count}").format(count=grouped(count))
        return form.format(count=count)
    return plural


class _Translator(ast.NodeTransformer):
    """Replaces the messages of one parsed texts.py with their translations."""

    def __init__(self, tree: ast.Module, translations: gettext.NullTranslations, right_to_left: bool) -> None:
        self._messages = {id(node) for node in texts_in(tree)}
        self._translations = translations
        self._right_to_left = right_to_left

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if id(node) not in self._messages or not isinstance(node.value, str):
            return node
        return ast.fix_missing_locations(ast.copy_location(ast.Constant(self._translate(node.value)), node))

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        if id(node) not in self._messages:
            return node
        fields = {field(value): value for value in node.values if isinstance(value, ast.FormattedValue)}
        values: list[ast.expr] = []
        for token in tokens(self._translate(template(node))):
            if token in fields:
                values.append(_localized_number(copy.deepcopy(fields[token])))
            else:
                values.append(ast.Constant(token.replace("{{", "{").replace("}}", "}")))
        return ast.fix_missing_locations(ast.copy_location(ast.JoinedStr(values), node))

    def _translate(self, english: str) -> str:
        """The translation of a message (as a template), English where it is missing or its fields differ."""
        translated = self._translations.gettext(english)
        if placeholders(translated) != placeholders(english):
            logger.warning("a translation's placeholders differ from the English; using the English: %r", english)
            translated = english
        return mark_paragraphs(translated) if self._right_to_left else translated


def _localized_number(value: ast.FormattedValue) -> ast.FormattedValue:
    """``{tokens:,}`` grouped as the language groups digits (1.234 in German, 1 234 in French)."""
    spec = value.format_spec
    if not (isinstance(spec, ast.JoinedStr) and [getattr(part, "value", None) for part in spec.values] == [","]):
        return value
    call = ast.Call(ast.Name(_GROUPED, ast.Load()), [value.value], [])
    return ast.copy_location(ast.FormattedValue(call, -1, None), value)


def mark_paragraphs(message: str) -> str:
    """A right-to-left message with a RIGHT-TO-LEFT MARK before each paragraph that starts with a left-to-right
    letter or a field (a name, a number), so that Telegram lays every line out from the right. A message that
    begins with one space is the rest of a line, not a paragraph's start (an indented one, "  · …", is a line)."""
    out: list[str] = []
    at_start = message[:1] != " " or message[:2] == "  "  # " (in 5 min)" goes on within a line; "  · x" is one
    for part in tokens(message):
        if part.startswith("{") and part not in ("{{", "}}"):
            if at_start:
                out.append(RLM)
            out.append(part)
            at_start = False
            continue
        lines = part.split("\n")
        for number, line in enumerate(lines):
            if number:
                out.append("\n")
                at_start = True
            strong = _first_strong(line)
            if at_start and strong == "L":
                out.append(RLM)
            if strong is not None:
                at_start = False
            out.append(line)
    return "".join(out)


def _first_strong(text: str) -> str | None:
    """L or R for the first letter with a direction, None when there is none."""
    for char in text:
        direction = unicodedata.bidirectional(char)
        if direction == "L":
            return "L"
        if direction in ("R", "AL"):
            return "R"
    return None
