from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot.errors import StoreUnavailable
from bot.ingress.shape import UpdateRejected
from bot.ingress.web import MAX_BODY_BYTES, SECRET_HEADER, create_web_app

SECRET = "s3cret_-X"


class Recorder:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.healthy = True
        self.error: Exception | None = None

    async def submit(self, data: dict[str, Any]) -> bool:
        if self.error is not None:
            raise self.error
        self.updates.append(data)
        return True

    async def probe(self) -> bool:
        return self.healthy


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder) -> TestClient:
    app = create_web_app(path="/tg/hook", secret=SECRET, submit=recorder.submit, healthy=recorder.probe)
    return TestClient(app)


def post(client: TestClient, body: bytes | str, secret: str | None = SECRET) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    content = body.encode() if isinstance(body, str) else body
    return client.post("/tg/hook", content=content, headers=headers).status_code


def test_an_update_is_handed_over_and_acknowledged(client: TestClient, recorder: Recorder) -> None:
    assert post(client, json.dumps({"update_id": 5, "message": {}})) == 200
    assert recorder.updates == [{"update_id": 5, "message": {}}]


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x"])
def test_a_missing_or_wrong_secret_is_forbidden_and_nothing_is_processed(
    client: TestClient, recorder: Recorder, secret: str | None,
) -> None:
    assert post(client, json.dumps({"update_id": 5}), secret=secret) == 403
    assert recorder.updates == []


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"text"', "{}", '{"update_id": "7"}', b"\xff\xfe"])
def test_a_body_that_is_not_an_update_object_is_400(client: TestClient, recorder: Recorder, body: str) -> None:
    assert post(client, body) == 400
    assert recorder.updates == []


def test_a_body_over_one_mebibyte_is_413(client: TestClient, recorder: Recorder) -> None:
    padding = "x" * MAX_BODY_BYTES
    assert post(client, json.dumps({"update_id": 1, "pad": padding})) == 413
    assert recorder.updates == []


def test_an_update_the_application_rejects_is_400(client: TestClient, recorder: Recorder) -> None:
    recorder.error = UpdateRejected("bad")
    assert post(client, json.dumps({"update_id": 1})) == 400


def test_store_down_answers_503_so_telegram_delivers_again(client: TestClient, recorder: Recorder) -> None:
    recorder.error = StoreUnavailable("down")
    assert post(client, json.dumps({"update_id": 1})) == 503


def test_healthz_follows_the_probe(client: TestClient, recorder: Recorder) -> None:
    assert client.get("/healthz").status_code == 200
    recorder.healthy = False
    assert client.get("/healthz").status_code == 503


def test_only_post_is_accepted_on_the_webhook(client: TestClient) -> None:
    assert client.get("/tg/hook").status_code == 405


def test_json_nested_past_the_parsers_limit_is_400_and_logged_without_the_body(
    client: TestClient, recorder: Recorder, caplog: pytest.LogCaptureFixture,
) -> None:
    body = '{"update_id": 1, "text": "my secret words", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert post(client, body) == 400
    assert recorder.updates == []
    (record,) = [r for r in caplog.records if r.name == "bot.ingress.web"]
    assert (record.levelname, record.getMessage()) == ("WARNING", "webhook body rejected: not JSON (RecursionError)")


def test_a_rejected_update_is_logged_as_a_warning_with_the_reason_only(
    client: TestClient, recorder: Recorder, caplog: pytest.LogCaptureFixture,
) -> None:
    recorder.error = UpdateRejected("update.message.chat.id: not an integer")
    assert post(client, json.dumps({"update_id": 1, "message": {"text": "my secret words"}})) == 400
    (record,) = [r for r in caplog.records if r.name == "bot.ingress.web"]
    assert record.levelname == "WARNING" and record.exc_info is None
    assert record.getMessage() == "webhook body rejected: update.message.chat.id: not an integer"
