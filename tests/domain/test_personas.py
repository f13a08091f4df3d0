from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.personas import (
    PersonaCatalog,
    PersonaCommand,
    PersonaFileError,
    PromptLimit,
    encode_choice,
    parse_persona_command,
)
from bot.domain.tokens import TokenCounter

CATALOG = PersonaCatalog.load()
COUNTER = TokenCounter("gpt-4o-mini")
LIMIT = PromptLimit(500, COUNTER.count)
CUNEIFORM = ("𒀀𒀁𒀂𒀃𒀄𒀅𒀆 " * 250)[:1999]  # 1,999 characters, under the old limit of 2,000


def test_the_builtin_catalog_has_default_and_a_coding_tutor_among_five() -> None:
    names = [p.name for p in CATALOG]
    assert len(names) >= 5 and "default" in names and "tutor" in names
    assert all(p.description and p.prompt for p in CATALOG)
    assert CATALOG.get("tutor") is not None and CATALOG.get("tutor").temperature == 0.3  # type: ignore[union-attr]


@pytest.mark.parametrize(("arguments", "expected"), [
    ("", PersonaCommand("show")),
    ("   ", PersonaCommand("show")),
    ("tutor", PersonaCommand("switch", "tutor")),
    ("TuToR", PersonaCommand("switch", "tutor")),
    (" default ", PersonaCommand("switch", "default")),
    ("pirate", PersonaCommand("unknown", "pirate")),
    ("You are a pirate. Speak like one.", PersonaCommand("custom", "You are a pirate. Speak like one.")),
    ("x " * 1000, PersonaCommand("too_long", str(COUNTER.count("x " * 999 + "x")))),
])
def test_persona_command_parsing(arguments: str, expected: PersonaCommand) -> None:
    assert parse_persona_command(arguments, CATALOG, LIMIT) == expected


def test_a_custom_prompt_is_limited_in_tokens_not_characters() -> None:
    assert len(CUNEIFORM) == 1999 and COUNTER.count(CUNEIFORM) > 6000
    assert parse_persona_command(CUNEIFORM, CATALOG, LIMIT) == PersonaCommand("too_long", str(COUNTER.count(CUNEIFORM)))
    fits = "Be brief. " * 120  # 1,200 characters of English: about 360 tokens
    assert parse_persona_command(fits, CATALOG, LIMIT) == PersonaCommand("custom", fits.strip())
    assert parse_persona_command(fits, CATALOG, PromptLimit(100, COUNTER.count)).action == "too_long"


def test_a_stored_choice_resolves_to_its_persona_and_unknown_ones_to_the_default() -> None:
    assert CATALOG.resolve(encode_choice("name", "tutor")).name == "tutor"
    assert CATALOG.resolve(encode_choice("custom", "Be brief.")).prompt == "Be brief."
    assert CATALOG.resolve(encode_choice("name", "removed-by-operator")).name == "default"
    assert CATALOG.resolve(None).name == CATALOG.resolve("garbage{").name == "default"


def test_an_operator_file_adds_and_replaces_personas(tmp_path: Path) -> None:
    path = tmp_path / "personas.toml"
    path.write_text('[Pirate]\ndescription = "Arr"\nprompt = "Talk like a pirate."\n'
                    '[default]\ndescription = "House style"\nprompt = "Be terse."\ntemperature = 0.1\n')
    catalog = PersonaCatalog.load(str(path))
    assert catalog.get("pirate") is not None
    assert catalog.default.prompt == "Be terse." and catalog.default.temperature == 0.1
    assert catalog.get("tutor") is not None


@pytest.mark.parametrize(("content", "problem"), [
    ("[a\nprompt=1", "invalid TOML"),
    ('[x]\ndescription = "d"\n', "needs a non-empty prompt"),
    ('[x]\nprompt = "p"\n', "needs a one-line description"),
    ('[x]\nprompt = "p"\ndescription = "d"\ntemperature = 5\n', "temperature"),
    ('[custom]\nprompt = "p"\ndescription = "d"\n', "a name is one word"),
    ('x = 1\n', "must be a table"),
])
def test_a_broken_operator_file_names_the_file_and_the_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(content)
    with pytest.raises(PersonaFileError) as caught:
        PersonaCatalog.load(str(path))
    assert caught.value.path == str(path) and problem in caught.value.problem


def test_a_missing_operator_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PersonaFileError) as caught:
        PersonaCatalog.load(str(tmp_path / "nope.toml"))
    assert "No such file" in caught.value.problem
