"""Start-up of the real process: configuration errors are one line and exit code 2; an unreachable API, 1."""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from bot.__main__ import _secrets
from bot.config import load_settings
from bot.logs import RedactingFilter
from bot.store.address import SentinelAddress, is_sentinel
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


@pytest.mark.parametrize(("env", "variable"), [
    ({**VALID, "INGRESS_CLAIM_IDLE_SECONDS": "inf"}, "INGRESS_CLAIM_IDLE_SECONDS"),
    ({**VALID, "REDIS_URL": "redis://:hunter22@127.0.0.1:9/0?socket_timeout=soon"}, "REDIS_URL"),
    ({**VALID, "REDIS_URL": "redis://:hunter22@127.0.0.1:9/0?colour=blue"}, "REDIS_URL"),
])
def test_a_value_only_the_clients_refuse_is_a_config_error_too(env: dict[str, str], variable: str) -> None:
    done = run_bot_once({**env, "TELEGRAM_API_URL": "http://127.0.0.1:9"})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"configuration error: {variable}: ")
    assert "Traceback" not in done.stderr and "hunter22" not in done.stderr


def test_a_broken_persona_file_stops_the_start_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "personas.toml"
    broken.write_text("[pirate\nprompt = 'arr'")
    done = run_bot_once({**VALID, "PERSONAS_FILE": str(broken)})
    assert done.returncode == 2
    assert str(broken) in done.stderr and "invalid TOML" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [[], ["set-webhook"], ["delete-webhook"]])
def test_an_unreachable_bot_api_at_start_is_one_line_and_exit_code_1(command: list[str]) -> None:
    done = run_bot_once({**VALID, "TELEGRAM_API_URL": "http://127.0.0.1:9", "WEBHOOK_URL": "https://bot.example/hook"},
                        *command)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "WARNING" not in line]
    assert len(errors) == 1 and "Telegram Bot API" in errors[0] and "Traceback" not in done.stderr
    assert TOKEN not in done.stderr


def test_a_malformed_sentinel_url_stops_the_start_in_one_line_without_its_password() -> None:
    done = run_bot_once({**VALID, "REDIS_URL": "redis+sentinel://:hunter22@127.0.0.1:26379"})  # no service name
    assert done.returncode == 2
    assert done.stderr.startswith("configuration error: REDIS_URL: expected") and "service_name" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "hunter22" not in done.stderr


@pytest.mark.parametrize("url", [
    "redis+sentinel://:p@ss-word@s1:26379,s2:26379/mymaster",
    "redis+sentinel://bot:pa%24%24word@s1:26379/mymaster/2",
    "redis://:pa%24%24word@redis:6379/0",
])
def test_the_redis_password_never_reaches_the_log(url: str) -> None:
    settings = load_settings({**VALID, "REDIS_URL": url})
    password = SentinelAddress.parse(url).password if is_sentinel(url) else urlsplit(url).password
    assert password is not None
    line = RedactingFilter(_secrets(settings)).redact(f"REDIS_URL={url}, password {unquote(password)}")
    assert unquote(password) not in line and password not in line and "***" in line


def test_version_prints_pyprojects_version_without_any_configuration() -> None:
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    version = tomllib.loads(pyproject.read_text())["project"]["version"]
    done = run_bot_once({}, "--version")
    assert done.returncode == 0 and done.stdout.startswith(f"telegram-llm-bot {version} (")


def test_a_webhook_url_telegram_would_refuse_is_exit_code_2_unless_another_bot_api_server_takes_it() -> None:
    done = run_bot_once({**VALID, "WEBHOOK_URL": "https://bot.example.com:8080/hook"})
    assert done.returncode == 2 and done.stderr.startswith("configuration error: WEBHOOK_URL: expected an https://")
    done = run_bot_once({**VALID, "WEBHOOK_URL": "http://bot.internal:8080/hook",
                         "TELEGRAM_API_URL": "http://127.0.0.1:9"})
    assert done.returncode == 1  # started (then could not reach that server), after one warning
    assert [line for line in done.stderr.splitlines() if "WEBHOOK_URL" in line and "WARNING" in line] != []
