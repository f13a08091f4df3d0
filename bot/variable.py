"""One environment variable as declared: how its text becomes a value (a Kind), its default and its meaning.

``setting``, ``required`` and ``derived`` make dataclass fields that carry their ``Variable``; ``variables`` reads
them back, in declaration order. Dataclass metadata rather than pydantic-settings: that costs 120-220 ms of import
at start (bot.config takes ~30 ms), and its env parsing (names in any case, JSON for sets, only "" as unset) and
error texts would each have to be overridden to keep the one-line errors.
"""

from __future__ import annotations

import json
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Generic, TypeVar, cast
from urllib.parse import urlsplit

from bot.errors import ConfigError

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

_DECLARATION = "variable"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
Prices = tuple[tuple[str, float, float, float | None], ...]  # model, input, output, cached input
ModelChoices = tuple[tuple[str, str], ...]  # (model id, label)


class Kind(ABC, Generic[T_co]):
    """How a variable's text becomes a typed value; ``parse`` raises ValueError for a text it refuses."""

    quotes_value: ClassVar[bool] = True  # False where the text may be a secret or too long for one line

    @abstractmethod
    def expected(self) -> str:
        """What a valid value looks like, as the error line says it."""

    @abstractmethod
    def parse(self, value: str) -> T_co:
        """The value of a stripped, non-empty text."""

    def format(self, value: Any) -> str:
        """The text that parses to ``value``: how .env.example and README write a default."""
        return str(value)


@dataclass(frozen=True)
class Text(Kind[str]):
    """Any text, or one matching a pattern."""

    pattern: re.Pattern[str] | None = None
    description: str = "a non-empty value"
    quotes_value: ClassVar[bool] = False

    def expected(self) -> str:
        return self.description

    def parse(self, value: str) -> str:
        if self.pattern is not None and not self.pattern.match(value):
            raise ValueError(value)
        return value


@dataclass(frozen=True)
class Integer(Kind[int]):
    """A whole number within bounds."""

    low: int | None = None
    high: int | None = None

    def expected(self) -> str:
        return _range_text("an integer", self.low, self.high)

    def parse(self, value: str) -> int:
        number = int(value)
        _check(number, self.low, self.high)
        return number


@dataclass(frozen=True)
class Number(Kind[float]):
    """A decimal number within bounds."""

    low: float | None = None
    high: float | None = None

    def expected(self) -> str:
        return _range_text("a number", self.low, self.high)

    def parse(self, value: str) -> float:
        number = float(value)
        _check(number, self.low, self.high)
        return number

    def format(self, value: Any) -> str:
        return _fmt(value)


@dataclass(frozen=True)
class Choice(Kind[str]):
    """One of a few words, in any case; the value is the word as declared."""

    choices: tuple[str, ...]

    def expected(self) -> str:
        return f"one of {', '.join(self.choices)}"

    def parse(self, value: str) -> str:
        for choice in self.choices:
            if value.lower() == choice.lower():
                return choice
        raise ValueError(value)


class Flag(Kind[bool]):
    """1/true/yes/on or 0/false/no/off."""

    def expected(self) -> str:
        return "true or false"

    def parse(self, value: str) -> bool:
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ValueError(value)

    def format(self, value: Any) -> str:
        return "true" if value else "false"


class Ids(Kind[frozenset[int]]):
    """Comma-separated numeric ids; spaces and empty items are ignored."""

    def expected(self) -> str:
        return "comma-separated numeric ids"

    def parse(self, value: str) -> frozenset[int]:
        return frozenset(int(part) for part in value.split(",") if part.strip())

    def format(self, value: Any) -> str:
        return ",".join(str(i) for i in sorted(value))


class PriceJSON(Kind[Prices]):
    """{"model": {"input": USD per 1M tokens, "output": …, "cached_input": … (optional)}, …}"""

    quotes_value: ClassVar[bool] = False

    def expected(self) -> str:
        return ('JSON like {"gpt-4o-mini": {"input": 0.15, "output": 0.6, "cached_input": 0.075}} '
                '(USD per 1M tokens; cached_input optional)')

    def parse(self, value: str) -> Prices:
        try:
            data = json.loads(value)
            return tuple((str(model), _usd(p["input"]), _usd(p["output"]), _cached(p)) for model, p in data.items())
        except (TypeError, KeyError, AttributeError) as exc:
            raise ValueError(value) from exc

    def format(self, value: Any) -> str:
        if not value:
            return ""
        return json.dumps({model: {"input": i, "output": o, **({"cached_input": c} if c is not None else {})}
                           for model, i, o, c in value})


def _cached(price: Mapping[str, Any]) -> float | None:
    return None if price.get("cached_input") is None else _usd(price["cached_input"])


def _usd(value: Any) -> float:
    """A price: a finite number of dollars, not below 0 (JSON may also write NaN and Infinity)."""
    price = float(value)
    _check(price, 0.0, None)
    return price


class ModelList(Kind[ModelChoices]):
    """Comma-separated model ids, each optionally ``id=Label``."""

    def expected(self) -> str:
        return "comma-separated model ids, each optionally id=Label (gpt-4o-mini=Fast,gpt-4o=Smart)"

    def parse(self, value: str) -> ModelChoices:
        choices: list[tuple[str, str]] = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            model, _, label = (side.strip() for side in part.partition("="))
            if not model or any(c.isspace() for c in model) or model in (m for m, _ in choices):
                raise ValueError(value)
            choices.append((model, label or model))
        if not choices:
            raise ValueError(value)
        return tuple(choices)

    def format(self, value: Any) -> str:
        return ",".join(model if label == model else f"{model}={label}" for model, label in value)


@dataclass(frozen=True)
class Url(Kind[str]):
    """A URL of one of the schemes; http(s) ones lose their trailing slashes."""

    schemes: tuple[str, ...]
    quotes_value: ClassVar[bool] = False

    def expected(self) -> str:
        return f"a {' or '.join(s + '://' for s in self.schemes)} URL"

    def parse(self, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in self.schemes or not (parts.netloc or parts.scheme == "unix"):
            raise ValueError(value)
        _ = parts.port  # ValueError for a port that is not a number from 0 to 65535
        return value.rstrip("/") if parts.scheme in ("http", "https") else value


@dataclass(frozen=True)
class Variable:
    """One environment variable as declared: name, kind, default and meaning."""

    name: str
    kind: Kind[Any]
    meaning: str
    default: Any = None
    required: bool = False
    derive: Callable[[Mapping[str, Any]], Any] | None = None  # a default computed from the variables read before
    described_default: str = ""  # the README's words for a default that is not a plain value

    @property
    def env_default(self) -> str:
        """The default as .env.example writes it: empty when there is no fixed value."""
        if self.required or self.derive is not None or self.default is None:
            return ""
        return self.kind.format(self.default)

    @property
    def shown_default(self) -> str:
        """The default as README's configuration table shows it."""
        if self.described_default:
            return self.described_default
        return "required" if self.required else f"`{self.env_default}`"

    def read(self, env: Mapping[str, str], earlier: Mapping[str, Any]) -> Any:
        """This variable's value in ``env``; empty counts as unset."""
        value = env.get(self.name, "").strip()
        if not value:
            return self._unset(earlier)
        try:
            return self.kind.parse(value)
        except ValueError:
            got = f", got {value!r}" if self.kind.quotes_value else ""
            raise ConfigError(self.name, f"expected {self.kind.expected()}{got}") from None

    def _unset(self, earlier: Mapping[str, Any]) -> Any:
        if self.required:
            raise ConfigError(self.name, f"is required ({self.kind.expected()})")
        return self.derive(earlier) if self.derive is not None else self.default


def setting(variable: str, kind: Kind[T], default: T, meaning: str, *, secret: bool = False,
            described_default: str = "") -> T:
    """A field read from ``variable``, ``default`` when unset."""
    declared = Variable(variable, kind, meaning, default=default, described_default=described_default)
    return field(default=default, repr=not secret, metadata={_DECLARATION: declared})


def required(variable: str, kind: Kind[T], meaning: str, *, secret: bool = False) -> T:
    """A field read from ``variable``, which must be set."""
    declared = Variable(variable, kind, meaning, required=True)
    return cast(T, field(repr=not secret, metadata={_DECLARATION: declared}))  # field() without default is Any


def derived(variable: str, kind: Kind[T], derive: Callable[[Mapping[str, Any]], T], meaning: str, *,
            described_default: str, secret: bool = False) -> T:
    """A field read from ``variable``, computed from the fields declared before it when unset."""
    declared = Variable(variable, kind, meaning, derive=derive, described_default=described_default)
    return cast(T, field(repr=not secret, metadata={_DECLARATION: declared}))


def variables(settings: type) -> Iterator[tuple[str, Variable]]:
    """(attribute, variable) for every field of a dataclass declared with these helpers, in order."""
    for declared in fields(settings):
        yield declared.name, declared.metadata[_DECLARATION]


def _check(number: float, low: float | None, high: float | None) -> None:
    if number != number or abs(number) == math.inf:  # nan, inf and 1e400 (which float() reads as inf)
        raise ValueError(number)
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(number)


def _range_text(noun: str, low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{noun} from {_fmt(low)} to {_fmt(high)}"
    if low is not None:
        return f"{noun} >= {_fmt(low)}"
    return noun


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
