"""The time policy: working days and hours, holidays, sensitive dates, and its rules.yaml section."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from bot.policy.time import (
    AFTER_HOURS_RULE,
    SENSITIVE_DATE_RULE,
    TimePolicy,
    TimeRules,
    policy_notes,
)
from bot.rules import RulesError, load_rules_text

JST = TimeRules().tz


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


def test_weekdays_are_working_days_and_weekends_are_not():
    rules = TimeRules()
    assert rules.is_working_day(date(2025, 4, 1))  # Tuesday
    assert not rules.is_working_day(date(2025, 4, 5))  # Saturday
    assert not rules.is_working_day(date(2025, 4, 6))  # Sunday


def test_japanese_public_holidays_are_days_off():
    rules = TimeRules()
    assert not rules.is_working_day(date(2025, 4, 29))  # Shōwa Day, a Tuesday
    assert not rules.is_working_day(date(2025, 5, 6))  # substitute holiday
    assert rules.holiday_name(date(2025, 5, 5)) is not None


def test_company_holidays_once_or_every_year_are_days_off():
    rules = TimeRules(TimePolicy(company_holidays=["12-30", "2025-08-13"]))
    assert not rules.is_working_day(date(2025, 12, 30))
    assert not rules.is_working_day(date(2026, 12, 30))
    assert not rules.is_working_day(date(2025, 8, 13))
    assert rules.is_working_day(date(2026, 8, 13))


def test_the_previous_working_day_skips_weekends_and_holidays():
    rules = TimeRules()
    assert rules.previous_working_day(date(2025, 4, 7)) == date(2025, 4, 4)  # Mon → Fri
    assert rules.previous_working_day(date(2025, 5, 7)) == date(2025, 5, 2)  # after Golden Week


def test_working_time_is_local_time_in_the_company_time_zone():
    rules = TimeRules()
    assert rules.is_working_time(datetime(2025, 4, 1, 0, 30, tzinfo=UTC))  # 09:30 JST
    assert not rules.is_working_time(datetime(2025, 4, 1, 9, 0, tzinfo=UTC))  # 18:00 JST
    assert not rules.is_working_time(jst(2025, 4, 1, 8, 59))
    assert not rules.is_working_time(jst(2025, 4, 5, 11, 0))  # Saturday


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="naive"):
        TimeRules().is_working_time(datetime(2025, 4, 1, 10, 0))  # noqa: DTZ001


def test_a_draft_posted_after_hours_gets_an_info_note_about_g4():
    (note,) = policy_notes(TimeRules(), jst(2025, 4, 1, 22, 15), "ja")
    assert (note.rule_id, note.severity, note.guideline) == (AFTER_HOURS_RULE, "info", "G4")
    assert "勤務時間" in note.message


def test_a_draft_posted_in_working_hours_gets_no_note():
    assert policy_notes(TimeRules(), jst(2025, 4, 1, 10, 0), "ja") == []


def test_on_a_sensitive_date_every_review_carries_a_tone_warning():
    (note,) = policy_notes(TimeRules(), jst(2025, 3, 11, 10, 0), "en")
    assert (note.rule_id, note.severity) == (SENSITIVE_DATE_RULE, "warning")
    assert "Great East Japan earthquake" in note.message


@pytest.mark.parametrize("month_day", ["01-17", "03-11", "08-06", "08-09", "08-15"])
def test_the_default_sensitive_dates_are_the_disaster_and_war_memorial_days(month_day):
    month, day = map(int, month_day.split("-"))
    notes = policy_notes(TimeRules(), jst(2024, month, day, 12, 0), "ja")
    assert SENSITIVE_DATE_RULE in [n.rule_id for n in notes]


BASE = """\
version: 1
locale: ja
rules:
  - id: overboard.insult
    category: overboard
    message: "侮辱"
    terms: [バカ]
    allow: [バカンス]
    examples: {match: ["バカ"], no_match: ["バカンス"]}
"""


def test_the_time_section_of_rules_yaml_is_optional_with_defaults():
    policy = load_rules_text(BASE).model.time
    assert policy.timezone == "Asia/Tokyo"
    assert policy.budget.daily_minutes == 30
    assert policy.budget.minutes_per_draft == 5
    assert policy.reminder.time == "09:30"


def test_a_time_section_with_overrides_loads():
    text = BASE + (
        "time:\n"
        "  timezone: Europe/London\n"
        "  working_hours: {start: '08:30', end: '17:00'}\n"
        "  company_holidays: [2025-12-29, '01-02']\n"
        "  budget: {daily_minutes: 20, per_user: {U0ALICE1: 60}}\n"
        "  reminder: {time: '10:00', channel: C0REMIND1}\n"
    )
    policy = load_rules_text(text).model.time
    assert policy.company_holidays == ["2025-12-29", "01-02"]
    assert policy.budget.for_user("U0ALICE1") == 60
    assert policy.budget.for_user("U0BOB001") == 20


def test_an_unquoted_time_is_refused_with_a_hint_to_quote_it():
    with pytest.raises(RulesError) as caught:
        load_rules_text(BASE + "time:\n  reminder:\n    time: 10:00\n")
    (problem,) = caught.value.problems
    assert problem.line == 12
    assert '"10:00"' in problem.message


def test_an_unknown_time_zone_or_key_is_refused():
    with pytest.raises(ValidationError, match="unknown time zone"):
        TimePolicy(timezone="Asia/Tokio")
    with pytest.raises(RulesError, match="budjet"):
        load_rules_text(BASE + "time:\n  budjet: {daily_minutes: 10}\n")


def test_working_hours_must_start_before_they_end():
    with pytest.raises(ValidationError, match="before"):
        TimePolicy(working_hours={"start": "18:00", "end": "09:00"})


def test_working_hours_after_skips_nights_weekends_and_holidays():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.policy.time import TimePolicy, TimeRules

    tokyo = ZoneInfo("Asia/Tokyo")
    rules = TimeRules(TimePolicy())
    # Friday 2025-01-10 16:00 + 4 working hours: 2 on Friday, Mon 13th is Coming-of-Age Day.
    start = datetime(2025, 1, 10, 16, 0, tzinfo=tokyo)
    assert rules.working_hours_after(start, 4) == datetime(2025, 1, 14, 11, 0, tzinfo=tokyo)
    # Saturday night counts from Monday 9:00.
    assert rules.working_hours_after(datetime(2025, 2, 1, 23, 0, tzinfo=tokyo), 1) == datetime(
        2025, 2, 3, 10, 0, tzinfo=tokyo
    )
