"""`social-review report`: time per person against budget and findings by category."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

from bot.policy.time import TimePolicy, TimeRules
from bot.services.report import build_report, period_bounds, report_csv, report_json, report_png
from bot.store import NewFinding

JST = TimeRules().tz


def finding(category: str) -> NewFinding:
    return NewFinding(f"{category}.x", category, "warning", False, "x", "m", None, None, "high")


def seeded(store, clock) -> TimeRules:
    rules = TimeRules(TimePolicy(budget={"daily_minutes": 30, "per_user": {"UBOSS001": 60}}))
    clock.now = datetime(2025, 3, 31, 10, 0, tzinfo=JST).astimezone(UTC)  # Monday
    store.add_time("UALICE01", date(2025, 3, 31), 50, None, clock())
    store.add_time("UALICE01", date(2025, 4, 1), 20, None, clock())
    store.add_draft("C1", "1.1", "UBOB0001", "h", [finding("overboard")], clock())
    store.add_draft(
        "C1", "1.2", "UBOB0001", "h", [finding("overboard"), finding("privacy")], clock()
    )
    store.add_draft("C1", "1.3", "UBOSS001", "h", [], clock())
    clock.now = datetime(2025, 4, 8, 10, 0, tzinfo=JST).astimezone(UTC)  # next week: not counted
    store.add_time("UALICE01", date(2025, 4, 8), 99, None, clock())
    store.add_draft("C1", "1.4", "UBOB0001", "h", [finding("competitor")], clock())
    return rules


def test_the_week_report_adds_up_time_against_budget_and_findings_by_category(store, clock):
    rules = seeded(store, clock)
    first, last = period_bounds(rules, date(2025, 4, 2), "week")
    assert (first, last) == (date(2025, 3, 31), date(2025, 4, 6))
    report = build_report(store, rules, first, last, "week")
    assert report.working_days == 5
    people = {
        p.user_id: (
            p.minutes,
            p.budget,
            p.logged_minutes,
            p.estimated_minutes,
            p.drafts,
            p.days_over,
        )
        for p in report.people
    }
    assert people == {
        "UALICE01": (70, 150, 70, 0, 0, 1),
        "UBOB0001": (10, 150, 0, 10, 2, 0),
        "UBOSS001": (5, 300, 0, 5, 1, 0),
    }
    assert report.findings_by_category == {"overboard": 2, "privacy": 1}
    assert report.drafts == 3


def test_the_month_report_spans_the_calendar_month(store, clock):
    rules = seeded(store, clock)
    first, last = period_bounds(rules, date(2025, 4, 15), "month")
    assert (first, last) == (date(2025, 4, 1), date(2025, 4, 30))
    report = build_report(store, rules, first, last, "month")
    alice = next(p for p in report.people if p.user_id == "UALICE01")
    assert alice.minutes == 20 + 99
    assert report.findings_by_category == {"competitor": 1}


def test_csv_and_json_carry_the_same_numbers(store, clock):
    rules = seeded(store, clock)
    report = build_report(store, rules, date(2025, 3, 31), date(2025, 4, 6), "week")
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    alice = next(r for r in rows if r["name"] == "UALICE01")
    assert (alice["section"], alice["minutes"], alice["budget"], alice["over"]) == (
        "person",
        "70",
        "150",
        "0",
    )
    categories = {r["name"]: r["findings"] for r in rows if r["section"] == "category"}
    assert categories == {"overboard": "2", "privacy": "1"}
    data = json.loads(report_json(report))
    assert data["findings_by_category"] == {"overboard": 2, "privacy": 1}
    assert data["people"][0]["user_id"] == "UALICE01"


def test_the_png_is_a_real_image(store, clock):
    rules = seeded(store, clock)
    report = build_report(store, rules, date(2025, 3, 31), date(2025, 4, 6), "week")
    png = report_png(report, "ja")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
