"""Every sentence the bot sends comes from telegram/texts.py, to be read, reviewed and translated in one place."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.domain.outcome import Ending, Failure
from bot.metrics import OUTCOMES
from bot.telegram import texts

BOT = Path(__file__).resolve().parents[2] / "bot"
SENDING = {"reply_text", "send_message", "edit_message_text", "answer", "set_my_commands", "BotCommand",
           "InlineKeyboardButton", "send_message_draft", "set_my_description", "set_my_short_description"}


def literal_texts(path: Path) -> list[str]:
    """Calls that send Telegram a text written in place (a string literal or f-string argument)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            arguments = [*node.args, *(k.value for k in node.keywords if k.arg in ("text", "description"))]
            if name in SENDING and any(_prose(a) for a in arguments):
                found.append(f"{path.name}:{node.lineno}")
    return found


def _prose(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and " " in node.value


def test_no_module_but_texts_writes_what_users_read() -> None:
    offenders = [hit for path in sorted(BOT.rglob("*.py")) if path.name != "texts.py" for hit in literal_texts(path)]
    assert offenders == []


def test_the_check_finds_a_text_written_in_place(tmp_path: Path) -> None:
    source = tmp_path / "handler.py"
    source.write_text('async def f(m):\n    await m.reply_text("Hello there")\n    await m.reply_text(f"Hi {m}")\n')
    assert len(literal_texts(source)) == 2


def test_every_failure_and_unusual_ending_has_a_text() -> None:
    assert set(texts.FAILURES) == set(Failure)
    assert set(texts.NOTES) == set(Ending) - {Ending.COMPLETE}
    assert "{until}" not in texts.failure(Failure.USER_BUDGET, texts.until(3, 5))
    assert texts.failure(Failure.USER_BUDGET, texts.until(3, 5)).endswith("(in 3 h 5 min).")


def test_every_turn_outcome_has_a_name_in_stats_and_small_costs_read_as_under_a_cent() -> None:
    assert set(texts.OUTCOME_NAMES) == {*Ending, *Failure, "declined"}
    assert [o for o in OUTCOMES if texts.outcome_name(o) == o] == []
    assert texts.outcome_name("failed:user_budget") == "user budget spent" and texts.outcome_name("new") == "new"
    assert [texts.cost_text(c) for c in (None, 0.0, 0.004, 0.01, 1234.5)] == [
        "", " · ≈ $0.00", " · < $0.01", " · ≈ $0.01", " · ≈ $1,234.50"]
    assert texts.model_usage_line("gpt-4o-mini", 25, 5, 0.0000067) == "  · gpt-4o-mini: 25 in · 5 out · < $0.01"
    assert texts.model_usage_line("gpt-4o-mini", 1_000_000, 10, 0.15) == (
        "  · gpt-4o-mini: 1,000,000 in · 10 out · ≈ $0.15")
