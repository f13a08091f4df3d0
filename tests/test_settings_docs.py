"""README's configuration table and .env.example list exactly the declared variables, with the declared defaults."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from bot.config import declared, load_settings
from bot.variable import Variable

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = {"TELEGRAM_BOT_TOKEN": "123456:ABC-def_9", "OPENAI_API_KEY": "sk-test"}
ENV_LINE = re.compile(r"^(#?)\s*([A-Z][A-Z0-9_]*)=(.*)$", re.MULTILINE)


def by_name() -> dict[str, Variable]:
    return {variable.name: variable for variable in declared()}


def readme_rows() -> list[tuple[list[str], str]]:
    """(variables, default cell) of each row of README's configuration table."""
    section = (ROOT / "README.md").read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            rows.append((re.findall(r"`([^`]+)`", cells[0]), cells[-1]))
    return rows


def env_example() -> list[tuple[bool, str, str]]:
    """(commented out, variable, value) of each assignment in .env.example."""
    text = (ROOT / ".env.example").read_text()
    return [(hashed == "#", name, value) for hashed, name, value in ENV_LINE.findall(text)]


def readme_default_agrees(cell: str, variables: list[Variable]) -> bool:
    """One default per variable, or one for all when they share it; a note in parentheses may follow."""
    shown = [variable.shown_default for variable in variables]
    accepted = {", ".join(shown)} | ({shown[0]} if len(set(shown)) == 1 else set())
    return any(cell == text or (cell.startswith(f"{text} (") and cell.endswith(")")) for text in accepted)


def test_readme_table_lists_each_declared_variable_once() -> None:
    listed = Counter(name for names, _ in readme_rows() for name in names)
    assert sorted(listed) == sorted(by_name()), "README's configuration table and bot/config.py disagree"
    assert [name for name, times in listed.items() if times > 1] == []


def test_readme_table_shows_the_declared_defaults() -> None:
    variables = by_name()
    wrong = []
    for names, cell in readme_rows():
        row = [variables[name] for name in names]
        if not readme_default_agrees(cell, row):
            wrong.append(f"{', '.join(names)}: README says {cell}, declared {', '.join(v.shown_default for v in row)}")
    assert wrong == []


def test_env_example_lists_each_declared_variable_once() -> None:
    listed = Counter(name for _, name, _ in env_example())
    assert sorted(listed) == sorted(by_name()), ".env.example and bot/config.py disagree"
    assert [name for name, times in listed.items() if times > 1] == []


def test_env_example_sets_the_required_and_shows_the_default_of_the_rest() -> None:
    variables = by_name()
    wrong = []
    for commented, name, value in env_example():
        variable = variables[name]
        if variable.required and (commented or not value):
            wrong.append(f"{name}: required, so set it (uncommented) to a placeholder")
        elif not variable.required and (not commented or value != variable.env_default):
            wrong.append(f"{name}: expected the line #{name}={variable.env_default}")
    assert wrong == []


def test_the_documented_defaults_read_back_as_the_defaults() -> None:
    written = {variable.name: variable.env_default for variable in declared() if not variable.required}
    assert load_settings({**REQUIRED, **written}) == load_settings(REQUIRED)


def test_every_variable_has_a_one_line_meaning() -> None:
    assert [v.name for v in declared() if not v.meaning or "\n" in v.meaning] == []
