"""The persona catalog: built-in personas from personas.toml, extended or replaced by an operator's file."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT = "default"
CUSTOM = "custom"


class PersonaFileError(Exception):
    """A persona file cannot be read or has an invalid entry."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class Persona:
    """A system prompt with a name, a one-line description and optionally its own temperature."""

    name: str
    description: str
    prompt: str
    temperature: float | None = None


class PersonaCatalog:
    """Personas by lower-case name, and the resolution of a chat's stored choice."""

    def __init__(self, personas: dict[str, Persona]) -> None:
        if DEFAULT not in personas:
            raise ValueError("the catalog needs a 'default' persona")
        self._personas = personas

    @classmethod
    def load(cls, operator_file: str | None = None) -> PersonaCatalog:
        """The built-ins, then the operator's file over them."""
        builtin = resources.files("bot.domain").joinpath("personas.toml").read_text(encoding="utf-8")
        personas = _parse(builtin, "bot/domain/personas.toml")
        if operator_file:
            personas.update(_parse(_read(operator_file), operator_file))
        return cls(personas)

    def __iter__(self) -> Any:
        return iter(self._personas.values())

    def get(self, name: str) -> Persona | None:
        """A catalog persona by name, case-insensitively."""
        return self._personas.get(name.strip().lower())

    @property
    def default(self) -> Persona:
        return self._personas[DEFAULT]

    def resolve(self, stored: str | None) -> Persona:
        """The persona a chat's stored choice stands for; unknown or missing choices mean the default."""
        choice = decode_choice(stored)
        if choice is None:
            return self.default
        kind, value = choice
        if kind == CUSTOM:
            return Persona(CUSTOM, "Custom prompt", value)
        return self.get(value) or self.default


def encode_choice(kind: str, value: str) -> str:
    """A chat's persona choice as stored: a catalog name or a custom prompt."""
    return json.dumps({"kind": kind, "value": value}, ensure_ascii=False)


def decode_choice(stored: str | None) -> tuple[str, str] | None:
    if not stored:
        return None
    try:
        data = json.loads(stored)
        return str(data["kind"]), str(data["value"])
    except (ValueError, KeyError, TypeError):
        return None


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PersonaFileError(path, exc.strerror or "cannot be read") from exc
    except UnicodeDecodeError:
        raise PersonaFileError(path, "is not UTF-8 text") from None


def _parse(text: str, path: str) -> dict[str, Persona]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PersonaFileError(path, f"invalid TOML ({exc})") from exc
    return {name.lower(): _persona(name, entry, path) for name, entry in data.items()}


def _persona(name: str, entry: object, path: str) -> Persona:
    if not isinstance(entry, dict):
        raise PersonaFileError(path, f"[{name}] must be a table")
    if not name.replace("_", "").replace("-", "").isalnum() or name.lower() == CUSTOM:
        raise PersonaFileError(path, f"[{name}]: a name is one word of letters, digits, - or _ (not 'custom')")
    prompt, description = entry.get("prompt"), entry.get("description")
    if not isinstance(prompt, str) or not prompt.strip():
        raise PersonaFileError(path, f"[{name}] needs a non-empty prompt")
    if not isinstance(description, str) or not description.strip():
        raise PersonaFileError(path, f"[{name}] needs a one-line description")
    temperature = entry.get("temperature")
    if temperature is not None and (not isinstance(temperature, int | float) or not 0 <= temperature <= 2):
        raise PersonaFileError(path, f"[{name}] temperature must be a number from 0 to 2")
    return Persona(name.lower(), description.strip(), prompt.strip(),
                   float(temperature) if temperature is not None else None)


@dataclass(frozen=True)
class PromptLimit:
    """PERSONA_MAX_TOKENS: the most tokens a custom prompt may take, counted as its system message is."""

    max_tokens: int
    count: Callable[[str], int]


@dataclass(frozen=True)
class PersonaCommand:
    """What `/persona …` asks for: show, switch to a catalog name, set a custom prompt, or an error."""

    action: str  # "show" | "switch" | "custom" | "unknown" | "too_long" (value: the prompt's tokens)
    value: str = ""


def parse_persona_command(arguments: str, catalog: PersonaCatalog, limit: PromptLimit) -> PersonaCommand:
    """Nothing → show; one word → a catalog persona (or unknown); several words → a custom prompt."""
    text = arguments.strip()
    if not text:
        return PersonaCommand("show")
    if len(text.split()) == 1:
        persona = catalog.get(text)
        return PersonaCommand("switch", persona.name) if persona else PersonaCommand("unknown", text)
    tokens = limit.count(text)  # tokens, not characters: 2,000 characters of cuneiform are over 6,000 tokens
    if tokens > limit.max_tokens:
        return PersonaCommand("too_long", str(tokens))
    return PersonaCommand("custom", text)
