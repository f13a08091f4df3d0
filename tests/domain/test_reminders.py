from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.chat import ChatKey
from bot.domain.reminders import MAX_TEXT_CHARS, Reminder, WhenError, parse_when

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("when", "after"), [
    ("in 20 minutes", timedelta(minutes=20)),
    ("20 minutes", timedelta(minutes=20)),
    ("In 1 hour and 30 minutes", timedelta(hours=1, minutes=30)),
    ("in 2 days, 3 hours", timedelta(days=2, hours=3)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("90s", timedelta(seconds=90)),
    ("in 1 week from now", timedelta(weeks=1)),
    ("PT20M", timedelta(minutes=20)),
    ("pt1h30m", timedelta(hours=1, minutes=30)),
    ("P1DT2H", timedelta(days=1, hours=2)),
    ("PT0.5S", timedelta(seconds=0.5)),
])
def test_a_delay_counts_from_now(when: str, after: timedelta) -> None:
    assert parse_when(when, NOW) == NOW + after


@pytest.mark.parametrize(("when", "due"), [
    ("2026-12-02T10:30:00Z", datetime(2026, 12, 2, 10, 30, tzinfo=UTC)),
    ("2026-12-02T11:30:00+01:00", datetime(2026, 12, 2, 10, 30, tzinfo=UTC)),
    ("2026-12-02 10:30", datetime(2026, 12, 2, 10, 30, tzinfo=UTC)),  # no offset: UTC
    ("2026-12-03", datetime(2026, 12, 3, tzinfo=UTC)),
])
def test_an_iso_time_is_taken_as_it_is_in_utc_unless_it_has_an_offset(when: str, due: datetime) -> None:
    assert parse_when(when, NOW) == due


def test_a_time_a_moment_ago_is_now_and_an_earlier_one_is_refused() -> None:
    assert parse_when("2026-12-02T08:59:30Z", NOW) == NOW
    with pytest.raises(WhenError, match="in the past"):
        parse_when("2026-12-02T08:00:00Z", NOW)


@pytest.mark.parametrize("when", ["tomorrow at noon", "in a while", "in 5 fortnights", "P", "PT", "", "x" * 200,
                                  "in 400 days", "2027-12-04T00:00:00Z"])
def test_what_is_neither_a_time_nor_a_delay_within_a_year_is_refused(when: str) -> None:
    with pytest.raises(WhenError):
        parse_when(when, NOW)


def test_a_reminder_needs_a_text_of_reasonable_length() -> None:
    chat = ChatKey(1)
    assert Reminder.new(chat, 7, 3, "  call Ann ", NOW).text == "call Ann"
    assert Reminder.new(chat, 7, 3, "a", NOW).id != Reminder.new(chat, 7, 3, "a", NOW).id
    with pytest.raises(WhenError):
        Reminder.new(chat, 7, 3, "   ", NOW)
    with pytest.raises(WhenError):
        Reminder.new(chat, 7, 3, "x" * (MAX_TEXT_CHARS + 1), NOW)
