from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import derive_webhook_secret, load_settings, read_environment
from bot.errors import ConfigError

BASE = {"TELEGRAM_BOT_TOKEN": "123456:ABC-def_9", "OPENAI_API_KEY": "sk-test"}


def test_defaults_match_the_documented_interface() -> None:
    settings = load_settings(BASE)
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)
    assert settings.openai_model == "gpt-4o-mini"
    assert (settings.temperature, settings.max_reply_tokens) == (0.7, 1024)
    assert settings.history_ttl_seconds == 604800
    assert settings.stream_edit_interval == 1.0
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.redis_url is None and settings.webhook_url is None
    assert settings.context_max_tokens == 4000 and settings.summary_model == "gpt-4o-mini"


@pytest.mark.parametrize("missing", ["TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY"])
def test_a_missing_required_variable_is_named(missing: str) -> None:
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert caught.value.variable == missing


@pytest.mark.parametrize(("name", "value"), [
    ("PORT", "abc"), ("PORT", "70000"), ("HISTORY_TTL_SECONDS", "-1"), ("TEMPERATURE", "3"),
    ("MAX_REPLY_TOKENS", "0"), ("STREAM_EDIT_INTERVAL", "x"), ("LOG_LEVEL", "LOUD"),
    ("WEBHOOK_URL", "not a url"), ("REDIS_URL", "http://localhost"), ("WEBHOOK_SECRET", "has space"),
    ("TELEGRAM_BOT_TOKEN", "no-colon"), ("CONTEXT_MAX_TOKENS", "-5"), ("GROUP_SETTINGS_ADMIN_ONLY", "maybe"),
    ("ALLOWED_USER_IDS", "12,abc"), ("SETTINGS_TTL_SECONDS", "0"), ("STREAM_MODE", "fast"),
])
def test_an_invalid_value_is_named_with_what_is_expected(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, name: value})
    assert caught.value.variable == name
    assert "expected" in caught.value.expected


def test_webhook_secret_is_derived_from_the_token_alike_on_every_replica() -> None:
    first, second = load_settings(BASE), load_settings(dict(BASE))
    assert first.webhook_secret == second.webhook_secret == derive_webhook_secret(BASE["TELEGRAM_BOT_TOKEN"])
    assert BASE["TELEGRAM_BOT_TOKEN"] not in first.webhook_secret
    assert load_settings({**BASE, "TELEGRAM_BOT_TOKEN": "9:other"}).webhook_secret != first.webhook_secret


def test_secrets_stay_out_of_the_repr() -> None:
    text = repr(load_settings({**BASE, "REDIS_URL": "redis://:pw@host:6379"}))
    assert "ABC-def_9" not in text and "sk-test" not in text and "pw@" not in text


def test_webhook_path_comes_from_the_url() -> None:
    settings = load_settings({**BASE, "WEBHOOK_URL": "https://bot.example.com/tg/hook"})
    assert settings.webhook_path == "/tg/hook"


def test_the_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("PORT=9000\nOPENAI_MODEL=from-file\n")
    monkeypatch.setenv("PORT", "9100")
    env = read_environment(dotenv)
    assert env["PORT"] == "9100" and env["OPENAI_MODEL"] == "from-file"


def test_allowlists_tolerate_spaces_and_empty_means_everyone() -> None:
    settings = load_settings({**BASE, "ALLOWED_USER_IDS": " 1, 22 ,333,", "ALLOWED_CHAT_IDS": ""})
    assert settings.allowed_user_ids == {1, 22, 333}
    assert settings.allowed_chat_ids == frozenset()
    assert load_settings({**BASE, "ALLOWED_CHAT_IDS": "-1001234"}).allowed_chat_ids == {-1001234}
