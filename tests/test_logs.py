from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import JsonFormatter, RedactingFilter, configure_logging

TOKEN = "123456:AAE-secret-bot-token"
API_KEY = "sk-proj-verysecretkey"


def logger_to(stream: io.StringIO, formatter: logging.Formatter, secrets: list[str]) -> logging.Logger:
    """A logger writing to ``stream`` the way configure_logging's handler does."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter(secrets))
    logger = logging.getLogger(f"tests.logs.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "openai")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, quiet_level in quiet.items():
        logging.getLogger(name).setLevel(quiet_level)


@pytest.mark.parametrize("formatter", [JsonFormatter(), logging.Formatter("%(levelname)s %(message)s")])
def test_secrets_never_appear_in_a_log_line(formatter: logging.Formatter) -> None:
    stream = io.StringIO()
    logger = logger_to(stream, formatter, [TOKEN, API_KEY])
    logger.info("HTTP Request: POST https://api.telegram.org/bot%s/sendMessage", TOKEN)
    logger.warning(f"model said 401 for key {API_KEY}")
    try:
        raise ValueError(f"https://api.telegram.org/bot{TOKEN}/getMe failed")
    except ValueError:
        logger.exception("request failed with %s", API_KEY)
    output = stream.getvalue()
    assert TOKEN not in output
    assert API_KEY not in output
    assert "https://api.telegram.org/bot***/sendMessage" in output
    assert "ValueError: https://api.telegram.org/bot***/getMe failed" in output


def test_a_missing_or_short_secret_does_not_mangle_log_lines() -> None:
    stream = io.StringIO()
    logger = logger_to(stream, JsonFormatter(), ["", "abc", TOKEN])
    logger.info("abc is %d%% done", 50)
    assert [line["message"] for line in json_lines(stream)] == ["abc is 50% done"]


def test_each_event_is_one_json_object_on_one_line_with_its_fields() -> None:
    stream = io.StringIO()
    logger = logger_to(stream, JsonFormatter(), [TOKEN])
    logger.info("turn finished: %s", "ok", extra={"update_id": 42, "chat": "-100", "duration_ms": 1200,
                                                   "text": "what the user wrote"})
    logger.warning("two\nlines", extra={"update_id": 43})
    first, second = json_lines(stream)
    assert {key: first[key] for key in ("level", "logger", "message", "update_id", "chat", "duration_ms")} == {
        "level": "INFO", "logger": logger.name, "message": "turn finished: ok", "update_id": 42, "chat": "-100",
        "duration_ms": 1200}
    assert "text" not in first
    assert isinstance(first["time"], str) and first["time"].endswith("+00:00")
    assert (second["message"], second["update_id"], second["level"]) == ("two\nlines", 43, "WARNING")


def test_an_exception_is_part_of_its_json_line() -> None:
    stream = io.StringIO()
    logger = logger_to(stream, JsonFormatter(), [TOKEN])
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("update could not be handled; dropped", extra={"update_id": 5})
    (line,) = json_lines(stream)
    assert line["update_id"] == 5
    assert isinstance(line["exception"], str)
    assert line["exception"].startswith("Traceback") and line["exception"].endswith("RuntimeError: boom")


def test_configured_logging_writes_redacted_json_to_stderr_and_quiets_http_clients(
        root_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json", [TOKEN, API_KEY])
    logging.getLogger("httpx").info("HTTP Request: GET https://api.telegram.org/bot%s/getMe", TOKEN)
    logging.getLogger("bot.ingress.web").debug("not at INFO")
    logging.getLogger("bot.ingress.web").info("webhook set for %s", TOKEN, extra={"update_id": 9})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines == [{"time": lines[0]["time"], "level": "INFO", "logger": "bot.ingress.web",
                      "message": "webhook set for ***", "update_id": 9}]


def test_an_unexpected_error_is_logged_with_its_traceback_and_no_secret() -> None:
    stream = io.StringIO()
    logger = logger_to(stream, logging.Formatter("%(levelname)s %(message)s"), [TOKEN])
    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed")
    except RuntimeError as exc:
        logger.error("update failed: %s", type(exc).__name__, exc_info=exc)
    text = stream.getvalue()
    assert text.startswith("ERROR update failed: RuntimeError\nTraceback (most recent call last):")
    assert "raise RuntimeError" in text and "/bot***/sendMessage" in text
    assert TOKEN not in text
