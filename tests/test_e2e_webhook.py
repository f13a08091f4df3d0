"""End to end: the webhook is still registered after a restart, whatever happened to it meanwhile."""

from __future__ import annotations

from bot.telegram.application import ALLOWED_UPDATES
from tests.bot_process import TOKEN, WEBHOOK_PATH
from tests.e2e import KEYS, World
from tests.http_fake import wait_for

OURS = f"https://bot.example.test{WEBHOOK_PATH}"


def answers_after_restart(w: World) -> None:
    """The restarted bot is registered with Telegram as itself, and a message through the webhook is answered."""
    with w.bot() as bot:
        assert w.telegram.webhook["url"] == OURS and w.telegram.webhook["secret_token"] == bot.secret
        assert bot.post(w.telegram.make_update("still there?", chat_id=77)).status_code == 200
        wait_for(lambda: w.telegram.texts(77) == ["Echo: still there?"], what="the answer")


def test_a_webhook_deleted_behind_the_bots_back_is_set_again_at_restart(env: World) -> None:
    with env.bot():
        pass
    env.telegram.set_webhook_elsewhere("")  # the same token long-polled on a laptop: deleteWebhook
    answers_after_restart(env)
    assert len(env.telegram.calls_of("setWebhook")) == 2


def test_a_different_url_set_behind_the_bots_back_is_replaced_at_restart(env: World) -> None:
    with env.bot():
        pass
    env.telegram.set_webhook_elsewhere("https://staging.example.test/hook", secret_token="staging")
    answers_after_restart(env)


def test_our_url_set_by_hand_with_another_secret_is_set_again_once_telegram_reports_403s(env: World) -> None:
    with env.bot():
        pass
    env.telegram.set_webhook_elsewhere(OURS, secret_token="typed-by-hand", allowed_updates=list(ALLOWED_UPDATES))
    marked_at = int(str(env.store.get(KEYS.webhook)).split()[1])  # when the bot last set (or checked) it
    env.telegram.webhook_trouble("Wrong response from the webhook: 403 Forbidden",  # every update refused since
                                 last_error_date=marked_at + 1)  # (Telegram's dates are whole seconds)
    answers_after_restart(env)
    assert len(env.telegram.calls_of("setWebhook")) == 2
    with env.bot():  # Telegram still reports that 403, from before the webhook was set again: nothing to do
        pass
    assert len(env.telegram.calls_of("setWebhook")) == 2


def test_an_unchanged_webhook_is_checked_and_not_set_again(env: World) -> None:
    with env.bot():
        pass
    with env.bot() as bot:
        log = bot.log()
    assert len(env.telegram.calls_of("getWebhookInfo")) == 2
    assert len(env.telegram.calls_of("setWebhook")) == 1
    assert "webhook already registered with Telegram" in log


def test_telegrams_delivery_errors_and_backlog_are_logged_as_warnings(env: World) -> None:
    env.telegram.webhook_trouble("Wrong response from the webhook: 502 Bad Gateway", pending_update_count=12)
    with env.bot() as bot:
        secret, log = bot.secret, bot.log()
    (line,) = [line for line in log.splitlines() if "Telegram reports on the webhook" in line]
    assert " WARNING bot.ingress.webhook: " in line
    assert "12 update(s) waiting for delivery" in line and "Wrong response from the webhook: 502 Bad Gateway" in line
    assert TOKEN not in log and secret not in log
