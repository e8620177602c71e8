"""/social-time: what people type, what gets logged, and today and this week against the budget."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.policy.time import TimePolicy, TimeRules
from bot.services.time_budget import (
    BadTime,
    LogTime,
    ShowTime,
    TimeBudgetService,
    TimeHelp,
    UndoTime,
    parse_time_command,
)
from bot.store import open_store


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("", ShowTime()),
        ("15 返信対応", LogTime(15, "返信対応")),
        ("15", LogTime(15, None)),
        ("15分", LogTime(15, None)),
        ("15分 返信対応", LogTime(15, "返信対応")),
        ("15分返信対応", LogTime(15, "返信対応")),
        ("１５", LogTime(15, None)),
        ("２０分　DM対応", LogTime(20, "DM対応")),
        ("1h", LogTime(60, None)),
        ("1.5h", LogTime(90, None)),
        ("1h30m", LogTime(90, None)),
        ("1時間", LogTime(60, None)),
        ("1時間半", LogTime(90, None)),
        ("1時間15分 企画", LogTime(75, "企画")),
        ("0:45", LogTime(45, None)),
        ("30min replies", LogTime(30, "replies")),
        ("undo", UndoTime()),
        ("取り消し", UndoTime()),
        ("help", TimeHelp()),
        ("今日", ShowTime()),
        ("-5", BadTime("negative", "-5")),
        ("−15分", BadTime("negative", "−15分")),
        ("0", BadTime("zero", "0")),
        ("900", BadTime("too_long", "900")),
        ("24h", BadTime("too_long", "24h")),
        ("abc", BadTime("not_a_number", "abc")),
        ("返信 15", BadTime("not_a_number", "返信 15")),
        ("15meetings", BadTime("not_a_number", "15meetings")),
        ("1日", BadTime("unit", "1日")),
        ("30秒", BadTime("unit", "30秒")),
    ],
)
def test_social_time_reads_the_forms_people_actually_type(typed, expected):
    assert parse_time_command(typed) == expected


TUESDAY_10_JST = datetime(2025, 4, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def service(tmp_path, clock):
    clock.now = TUESDAY_10_JST
    store = open_store(f"sqlite:///{tmp_path / 'time.db'}", clock())
    rules = TimeRules(TimePolicy(budget={"daily_minutes": 30, "per_user": {"UBOSS001": 60}}))
    yield TimeBudgetService(store=store, rules=rules, clock=clock)
    store.close()


def test_logged_minutes_add_up_today_and_this_week(service, clock):
    service.log("UALICE01", 20, "返信対応")
    summary = service.log("UALICE01", 15, None)
    assert (summary.today_minutes, summary.today_source, summary.daily_budget) == (35, "logged", 30)
    assert (summary.week_minutes, summary.week_budget, summary.week_working_days) == (35, 150, 5)
    clock.advance(24 * 3600)
    summary = service.summary("UALICE01")
    assert (summary.today_minutes, summary.today_source, summary.week_minutes) == (0, None, 35)


def test_a_per_user_budget_overrides_the_default(service):
    assert service.summary("UBOSS001").daily_budget == 60


def test_undo_takes_back_only_the_last_entry(service):
    service.log("UALICE01", 20, "返信対応")
    service.log("UALICE01", 15, "DM")
    service.log("UBOB0001", 5, None)
    assert service.undo("UALICE01") == (15, "DM", TUESDAY_10_JST.date())
    assert service.summary("UALICE01").today_minutes == 20
    assert service.undo("UALICE01") == (20, "返信対応", TUESDAY_10_JST.date())
    assert service.undo("UALICE01") is None
    assert service.summary("UBOB0001").today_minutes == 5


def test_a_day_with_nothing_logged_is_estimated_from_reviewed_drafts(service, clock):
    for i in range(3):
        service.store.add_draft("C1", f"1.{i}", "UALICE01", "h", [], clock())
    summary = service.summary("UALICE01")
    assert (summary.today_minutes, summary.today_source, summary.today_drafts) == (
        15,
        "estimated",
        3,
    )
    summary = service.log("UALICE01", 10, None)
    assert (summary.today_minutes, summary.today_source) == (10, "logged")


def test_the_local_day_follows_the_company_time_zone(service, clock):
    clock.now = datetime(2025, 4, 1, 16, 0, tzinfo=UTC)  # 01:00 on Wednesday in Tokyo
    service.log("UALICE01", 10, None)
    assert service.summary("UALICE01").today.isoformat() == "2025-04-02"
