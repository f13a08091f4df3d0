from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import derive_webhook_secret, load_settings, read_environment, webhook_problem
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
    ("INGRESS_CLAIM_IDLE_SECONDS", "inf"), ("DELIVERY_GIVE_UP_SECONDS", "1e400"), ("SHUTDOWN_GRACE_SECONDS", "-inf"),
    ("MODEL_PRICES", '{"m": {"input": NaN, "output": 1}}'), ("MODEL_PRICES", '{"m": {"input": 1, "output": -2}}'),
    ("MODEL_PRICES", '{"m": {"input": 1, "output": 2, "cached_input": Infinity}}'),
    ("REDIS_URL", "redis://localhost:99999/0"), ("REDIS_URL", "redis://localhost:6379/zero"),
    ("OPENAI_BASE_URL", "http://localhost:70000/v1"), ("WEBHOOK_URL", "https://bot.example.com:99999/hook"),
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


@pytest.mark.parametrize(("name", "value", "line"), [
    ("PORT", "abc", "PORT: expected an integer from 1 to 65535, got 'abc'"),
    ("TEMPERATURE", "3", "TEMPERATURE: expected a number from 0 to 2, got '3'"),
    ("STREAM_EDIT_INTERVAL", "nan", "STREAM_EDIT_INTERVAL: expected a number >= 0.05, got 'nan'"),
    ("LOG_LEVEL", "loud", "LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'loud'"),
    ("MODERATION", "maybe", "MODERATION: expected true or false, got 'maybe'"),
    ("ADMIN_USER_IDS", "1,x", "ADMIN_USER_IDS: expected comma-separated numeric ids, got '1,x'"),
    ("REDIS_URL", "http://:pw@host", "REDIS_URL: expected a redis://, rediss:// or unix:// URL, or "
                                     "redis+sentinel://[:password@]host:port[,host:port…]/service_name[/db]"),
    ("WEBHOOK_URL", "https://[::1/hook", "WEBHOOK_URL: expected a http:// or https:// URL"),
    ("WEBHOOK_SECRET", "has space", "WEBHOOK_SECRET: expected 1-256 characters of A-Z a-z 0-9 _ -"),
    ("MODEL_PRICES", '{"m": 1}',
     'MODEL_PRICES: expected JSON like {"gpt-4o-mini": {"input": 0.15, "output": 0.6, "cached_input": 0.075}} '
     '(USD per 1M tokens; cached_input optional)'),
])
def test_the_error_line_says_what_is_expected_and_quotes_only_harmless_values(name: str, value: str, line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, name: value})
    assert str(caught.value) == line


def test_a_missing_token_says_what_one_looks_like() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"OPENAI_API_KEY": "sk-test", "TELEGRAM_BOT_TOKEN": "  "})
    assert str(caught.value) == "TELEGRAM_BOT_TOKEN: is required (a bot token like 123456:ABC-DEF)"


def test_a_number_too_large_for_a_float_is_a_config_error_not_a_crash() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, "PORT": "9" * 400})
    assert caught.value.variable == "PORT"


def test_blank_values_count_as_unset() -> None:
    blank = load_settings({**BASE, "PORT": " ", "LOG_LEVEL": "", "SUMMARY_MODEL": "\t", "WEBHOOK_SECRET": ""})
    assert blank == load_settings(BASE)


def test_choices_and_flags_are_read_in_any_case_and_spelling() -> None:
    settings = load_settings({**BASE, "LOG_LEVEL": "debug", "STREAM_MODE": "Draft", "LOG_FORMAT": "JSON",
                              "MODERATION": "Yes", "MODERATION_FAIL_CLOSED": "on", "GROUP_SETTINGS_ADMIN_ONLY": "OFF"})
    assert (settings.log_level, settings.stream_mode, settings.log_format) == ("DEBUG", "draft", "json")
    assert (settings.moderation, settings.moderation_fail_closed, settings.group_settings_administrators_only) == (
        True, True, False)


def test_summary_model_follows_openai_model_unless_set() -> None:
    assert load_settings({**BASE, "OPENAI_MODEL": "llama3"}).summary_model == "llama3"
    assert load_settings({**BASE, "OPENAI_MODEL": "llama3", "SUMMARY_MODEL": "small"}).summary_model == "small"


def test_http_urls_lose_trailing_slashes_and_redis_urls_are_kept_as_given() -> None:
    settings = load_settings({**BASE, "OPENAI_BASE_URL": "http://localhost:11434/v1/",
                              "TELEGRAM_API_URL": "https://tg.example//", "REDIS_URL": "unix:///run/redis.sock"})
    assert (settings.openai_base_url, settings.telegram_api_url) == ("http://localhost:11434/v1", "https://tg.example")
    assert settings.redis_url == "unix:///run/redis.sock"


@pytest.mark.parametrize("url", ["redis://localhost", "redis://localhost/", "redis://:pw@redis:6379/2",
                                 "rediss://user:pw@redis.example:6380/0", "unix:///run/redis.sock?db=3"])
def test_redis_urls_of_every_form_redis_py_takes_are_accepted(url: str) -> None:
    assert load_settings({**BASE, "REDIS_URL": url}).redis_url == url


def test_redis_url_may_name_sentinels_and_a_malformed_one_is_named_without_its_password() -> None:
    url = "redis+sentinel://:s3cret@s1:26379,s2:26379/mymaster/1"
    assert load_settings({**BASE, "REDIS_URL": url}).redis_url == url
    for malformed in ("redis+sentinel://:s3cret@s1:26379", "redis+sentinel://:s3cret@s1:port/mymaster",
                      "redis+sentinel://:s3cret@s1:26379,/mymaster", "redis+sentinel://:s3cret@s1/mymaster/x"):
        with pytest.raises(ConfigError) as caught:
            load_settings({**BASE, "REDIS_URL": malformed})
        assert caught.value.variable == "REDIS_URL" and "s3cret" not in str(caught.value)
        assert "redis+sentinel://[:password@]host:port[,host:port…]/service_name[/db]" in str(caught.value)


def test_model_prices_are_read_from_json() -> None:
    prices = '{"m": {"input": 1, "output": 2.5}, "c": {"input": 1, "output": 2, "cached_input": 0.25}}'
    settings = load_settings({**BASE, "MODEL_PRICES": prices})
    assert settings.model_prices == (("m", 1.0, 2.5, None), ("c", 1.0, 2.0, 0.25))


def test_settings_are_frozen_and_know_the_bot_id() -> None:
    settings = load_settings(BASE)
    assert settings.bot_id == "123456"
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_tools_default_to_the_builtins_whose_backend_is_configured() -> None:
    assert load_settings(BASE).tools == ("time", "reminders", "fetch_url", "generate_image")
    with_search = load_settings({**BASE, "SEARXNG_URL": "http://127.0.0.1:8888/"})
    assert with_search.tools == ("time", "reminders", "web_search", "fetch_url", "generate_image")
    assert load_settings({**BASE, "IMAGE_GENERATION": "false"}).tools == ("time", "reminders", "fetch_url")
    assert with_search.searxng_url == "http://127.0.0.1:8888"
    settings = load_settings(BASE)
    assert (settings.tool_timeout_seconds, settings.tool_max_rounds, settings.tool_result_max_tokens) == (20, 5, 3000)
    assert settings.tools_allow_private_networks is False
    assert load_settings({**BASE, "TOOL_RESULT_MAX_TOKENS": "10"}).tool_result_max_tokens == 10  # a small cap is fine


@pytest.mark.parametrize(("value", "tools"), [("none", ()), ("NONE", ()), ("time, fetch_url", ("time", "fetch_url")),
                                              ("time,time", ("time",))])
def test_tools_is_a_comma_list_or_none(value: str, tools: tuple[str, ...]) -> None:
    assert load_settings({**BASE, "TOOLS": value}).tools == tools


@pytest.mark.parametrize(("env", "says"), [
    ({"TOOLS": "time,teleport"}, "TOOLS: expected none or a comma list of time, reminders, web_search, fetch_url, "
                                   "generate_image"),
    ({"TOOLS": "web_search"}, "TOOLS: web_search needs SEARXNG_URL"),
    ({"TOOL_MAX_ROUNDS": "0"}, "TOOL_MAX_ROUNDS: expected an integer >= 1"),
    ({"TOOL_RESULT_MAX_TOKENS": "0"}, "TOOL_RESULT_MAX_TOKENS: expected an integer >= 1"),
])
def test_a_bad_tools_setting_is_one_line(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, **env})
    assert str(caught.value).startswith(says)


@pytest.mark.parametrize("url", ["http://bot.example.com/hook", "https://bot.example.com:8080/hook",
                                 "https://bot.example.com:444/hook"])
def test_a_webhook_telegram_would_not_post_to_is_a_config_error_with_the_default_api(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, "WEBHOOK_URL": url})
    assert caught.value.variable == "WEBHOOK_URL" and "443, 80, 88 or 8443" in caught.value.expected


@pytest.mark.parametrize("url", ["https://bot.example.com/hook", "https://bot.example.com:8443/hook",
                                 "https://bot.example.com:88/hook", "https://bot.example.com:80/hook"])
def test_https_webhooks_on_telegrams_ports_are_accepted(url: str) -> None:
    assert load_settings({**BASE, "WEBHOOK_URL": url}).webhook_url == url


@pytest.mark.parametrize("api", ["https://api.telegram.org/", "https://API.telegram.org", "https://api.telegram.org:443"])
def test_telegrams_own_api_however_written_refuses_a_webhook_it_would_not_post_to(api: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, "WEBHOOK_URL": "http://bot.example.com/hook", "TELEGRAM_API_URL": api})
    assert caught.value.variable == "WEBHOOK_URL"


def test_another_bot_api_server_may_take_any_webhook_url() -> None:
    env = {**BASE, "WEBHOOK_URL": "http://bot.internal:8080/hook", "TELEGRAM_API_URL": "http://127.0.0.1:8081"}
    settings = load_settings(env)
    assert settings.webhook_url == "http://bot.internal:8080/hook" and webhook_problem(settings) is not None


def test_the_default_language_is_one_with_a_catalog_and_profile_texts_fit_telegram_s_limits() -> None:
    assert load_settings({**BASE, "DEFAULT_LANGUAGE": "zh-Hans"}).default_language == "zh-hans"
    for name, value, expected in [
            ("DEFAULT_LANGUAGE", "ja", "DEFAULT_LANGUAGE: expected one of en, ru, uk, es, pt, de, fr, it, tr, pl, hi, "
                                       "id, ar, fa, zh-hans, got 'ja'"),
            ("BOT_SHORT_DESCRIPTION", "x" * 121, "BOT_SHORT_DESCRIPTION: expected at most 120 characters"),
            ("BOT_DESCRIPTION", "x" * 513, "BOT_DESCRIPTION: expected at most 512 characters")]:
        with pytest.raises(ConfigError) as caught:
            load_settings({**BASE, name: value})
        assert str(caught.value) == expected
    settings = load_settings({**BASE, "BOT_DESCRIPTION": "Trains.\nTimetables.", "BOT_SHORT_DESCRIPTION": "x" * 120})
    assert settings.bot_description == "Trains.\nTimetables." and settings.bot_short_description == "x" * 120


def test_models_without_openai_model_make_the_first_of_them_the_default() -> None:
    settings = load_settings({**BASE, "MODELS": "gpt-4o=Smart,o4-mini=Reasoning"})
    assert (settings.openai_model, settings.summary_model) == ("gpt-4o", "gpt-4o")
    assert settings.model_choices == (("gpt-4o", "Smart"), ("o4-mini", "Reasoning"))
    assert load_settings(BASE).model_choices == (("gpt-4o-mini", "gpt-4o-mini"),)


def test_openai_model_set_beside_models_must_be_one_of_them() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, "MODELS": "gpt-4o,o4-mini", "OPENAI_MODEL": "gpt-4o-mini"})
    assert caught.value.variable == "OPENAI_MODEL"
    assert load_settings({**BASE, "MODELS": "gpt-4o,o4-mini", "OPENAI_MODEL": "o4-mini"}).openai_model == "o4-mini"
