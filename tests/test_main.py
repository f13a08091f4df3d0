"""Start-up of the real process: configuration errors are one line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot_process import API_KEY, TOKEN, run_bot_once

VALID = {"TELEGRAM_BOT_TOKEN": TOKEN, "OPENAI_API_KEY": API_KEY}


@pytest.mark.parametrize(("env", "variable"), [
    ({"OPENAI_API_KEY": API_KEY}, "TELEGRAM_BOT_TOKEN"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN}, "OPENAI_API_KEY"),
    ({**VALID, "PORT": "abc"}, "PORT"),
    ({**VALID, "HISTORY_TTL_SECONDS": "-1"}, "HISTORY_TTL_SECONDS"),
    ({**VALID, "TEMPERATURE": "hot"}, "TEMPERATURE"),
    ({**VALID, "WEBHOOK_SECRET": "not allowed!"}, "WEBHOOK_SECRET"),
])
def test_a_config_error_is_one_line_naming_the_variable_and_exit_code_2(env: dict[str, str], variable: str) -> None:
    done = run_bot_once(env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and "Traceback" not in done.stderr
    assert TOKEN not in done.stderr and API_KEY not in done.stderr


def test_a_broken_persona_file_stops_the_start_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "personas.toml"
    broken.write_text("[pirate\nprompt = 'arr'")
    done = run_bot_once({**VALID, "PERSONAS_FILE": str(broken)})
    assert done.returncode == 2
    assert str(broken) in done.stderr and "invalid TOML" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
