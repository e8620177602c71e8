"""Log social-media minutes, take the last entry back, and tell people where their time went (G3)."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from bot.policy.time import TimeRules
from bot.store.base import TimeStore

MAX_ENTRY_MINUTES = 8 * 60  # more than a working day in one entry is a typo, not a log
NOTE_CHARS = 200

# -- parsing what people type after /social-time -----------------------------------------------


@dataclass(frozen=True, slots=True)
class ShowTime:
    """`/social-time` alone: show today and this week."""


@dataclass(frozen=True, slots=True)
class LogTime:
    """`/social-time 15 返信対応`: log minutes with an optional note."""

    minutes: int
    note: str | None


@dataclass(frozen=True, slots=True)
class UndoTime:
    """`/social-time undo`: take back the last entry."""


@dataclass(frozen=True, slots=True)
class TimeHelp:
    """`/social-time help`: explain the command."""


Problem = Literal["negative", "zero", "too_long", "not_a_number", "unit"]


@dataclass(frozen=True, slots=True)
class BadTime:
    """Input we cannot log, with what is wrong (the reply explains it kindly)."""

    problem: Problem
    text: str


TimeCommand = ShowTime | LogTime | UndoTime | TimeHelp | BadTime

_UNDO = {"undo", "取り消し", "取消", "取り消す", "とりけし", "元に戻す", "戻す"}
_HELP = {"help", "?", "ヘルプ", "使い方", "つかいかた"}
_SHOW = {"today", "week", "status", "今日", "今週", "状況", "確認"}

_NUM = r"\d+(?:\.\d+)?"
_H = r"(?:hours?|hrs?|h|時間)"
_M = r"(?:minutes?|mins?|m|分間?)"
_DURATION = re.compile(
    rf"""
    (?P<sign>[-‐−ー])?\s*
    (?:
        (?P<clock_h>\d{{1,2}}):(?P<clock_m>[0-5]\d)
      | (?P<h>{_NUM})\s*{_H}\s*(?:(?P<half>半)|(?P<hm>\d+)\s*{_M}?)?
      | (?P<m>{_NUM})\s*{_M}?
    )
    (?![A-Za-z0-9_.,:])
    """,
    re.VERBOSE | re.IGNORECASE,
)
# A bare number followed by one of these is not minutes (1日, 30秒, 3時): ask for 分 or 時間.
_OTHER_UNIT = re.compile(r"^(?:日|秒|週|月|年|時(?!間)|d\b|days?\b|s\b|secs?\b|seconds?\b)", re.I)


def parse_time_command(text: str) -> TimeCommand:
    """Turn what followed /social-time into a command; input we cannot use becomes BadTime."""
    raw = " ".join(text.split())
    folded = unicodedata.normalize("NFKC", raw).strip()
    word = folded.lower()
    if not word:
        return ShowTime()
    if word in _UNDO:
        return UndoTime()
    if word in _HELP:
        return TimeHelp()
    if word in _SHOW:
        return ShowTime()
    match = _DURATION.match(folded)
    if match is None:
        return BadTime("not_a_number", raw)
    rest = folded[match.end() :].strip()
    if match["m"] is not None and _OTHER_UNIT.match(rest):
        return BadTime("unit", raw)
    if match["clock_h"] is not None:
        minutes = float(int(match["clock_h"]) * 60 + int(match["clock_m"]))
    elif match["h"] is not None:
        minutes = float(match["h"]) * 60
        if match["half"]:
            minutes += 30
        elif match["hm"]:
            minutes += int(match["hm"])
    else:
        minutes = float(match["m"])
    whole = int(minutes + 0.5)
    if match["sign"]:
        return BadTime("negative", raw)
    if whole <= 0:
        return BadTime("zero", raw)
    if whole > MAX_ENTRY_MINUTES:
        return BadTime("too_long", raw)
    note = rest.lstrip(" 、,:：-").strip()
    # Keep the note as the person typed it (full-width and all), not the folded copy.
    original_note = raw[len(raw) - len(note) :] if note and raw.endswith(note) else note
    return LogTime(whole, (original_note or note)[:NOTE_CHARS] or None)


# -- where the time went -----------------------------------------------------------------------

Source = Literal["logged", "estimated"]


@dataclass(frozen=True, slots=True)
class DayUsage:
    """One person's social-media time on one day: logged, or estimated from reviewed drafts."""

    user_id: str
    day: date
    minutes: int
    budget: int
    source: Source
    drafts: int

    @property
    def over(self) -> int:
        """Return the minutes over budget (0 when within)."""
        return max(0, self.minutes - self.budget)


def usage_by_day(
    store: TimeStore, rules: TimeRules, first: date, last: date
) -> dict[date, dict[str, DayUsage]]:
    """Return, for each local day in first..last, each active person's usage of that day."""
    logged: dict[tuple[date, str], int] = defaultdict(int)
    for entry in store.time_entries(first, last):
        logged[(entry.day, entry.user_id)] += entry.minutes
    start, _ = rules.day_bounds(first)
    _, end = rules.day_bounds(last)
    drafts: dict[tuple[date, str], int] = defaultdict(int)
    for activity in store.drafts_between(start, end):
        if activity.user_id:
            drafts[(rules.today(activity.created_at), activity.user_id)] += 1
    budget = rules.policy.budget
    result: dict[date, dict[str, DayUsage]] = defaultdict(dict)
    for day, user in sorted(set(logged) | set(drafts)):
        count = drafts.get((day, user), 0)
        if logged.get((day, user)):
            minutes, source = logged[(day, user)], "logged"
        else:
            minutes, source = count * budget.minutes_per_draft, "estimated"
        result[day][user] = DayUsage(
            user,
            day,
            minutes,
            budget.for_user(user),
            source,
            count,  # type: ignore[arg-type]
        )
    return dict(result)


@dataclass(frozen=True, slots=True)
class TimeSummary:
    """What /social-time shows one person: today and this week against the budget."""

    user_id: str
    today: date
    today_minutes: int
    today_source: Source | None
    today_drafts: int
    daily_budget: int
    week_minutes: int
    week_budget: int
    week_working_days: int
    working_day: bool
    minutes_per_draft: int


@dataclass
class TimeBudgetService:
    """Log minutes, undo the last entry, and summarize a person's time against the budget."""

    store: TimeStore
    rules: TimeRules
    clock: Callable[[], datetime]

    def log(self, user_id: str, minutes: int, note: str | None) -> TimeSummary:
        """Record minutes for today (local) and return the updated summary."""
        now = self.clock()
        self.store.add_time(user_id, self.rules.today(now), minutes, note, now)
        return self.summary(user_id)

    def undo(self, user_id: str) -> tuple[int, str | None, date] | None:
        """Take back the person's latest entry; return its minutes, note and day, or None."""
        entry = self.store.undo_time(user_id, self.clock())
        return None if entry is None else (entry.minutes, entry.note, entry.day)

    def summary(self, user_id: str) -> TimeSummary:
        """Return today and this week for one person."""
        today = self.rules.today(self.clock())
        monday = self.rules.week_start(today)
        usage = usage_by_day(self.store, self.rules, monday, today)
        mine = [u[user_id] for u in usage.values() if user_id in u]
        todays = usage.get(today, {}).get(user_id)
        daily = self.rules.policy.budget.for_user(user_id)
        week_days = len(self.rules.working_days_between(monday, monday + timedelta(days=6)))
        return TimeSummary(
            user_id=user_id,
            today=today,
            today_minutes=todays.minutes if todays else 0,
            today_source=todays.source if todays else None,
            today_drafts=todays.drafts if todays else 0,
            daily_budget=daily,
            week_minutes=sum(u.minutes for u in mine),
            week_budget=daily * week_days,
            week_working_days=week_days,
            working_day=self.rules.is_working_day(today),
            minutes_per_draft=self.rules.policy.budget.minutes_per_draft,
        )
