"""Time policy: time zone, working days and hours, holidays, budgets, reminders, sensitive dates.

Pure: every function takes the instant it is asked about; nothing here reads a clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot import i18n

DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_NAMES: tuple[DayName, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
MONTH_DAY = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
USER_ID = r"^[UW][A-Z0-9]{2,}$"
CHANNEL_ID = r"^[CGD][A-Z0-9]{2,}$"

Clock = Annotated[str, Field(pattern=HHMM, description='Local time "HH:MM" (quote it in YAML).')]


class _Strict(BaseModel):
    """Unknown keys are refused, as everywhere in rules.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Name(_Strict):
    """A name shown to people, per language (`en` falls back to `ja`)."""

    ja: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)] | None = None

    def get(self, locale: str) -> str:
        """Return the name for locale."""
        return self.en if locale == "en" and self.en else self.ja


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class WorkingHours(_Strict):
    """When the working day starts and ends, local time."""

    start: Clock = "09:00"
    end: Clock = "18:00"

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingHours:
        if _hhmm(self.start) >= _hhmm(self.end):
            raise ValueError("`start` must be before `end`")
        return self


class Budget(_Strict):
    """How much social-media time a person may spend a working day (G3)."""

    daily_minutes: int = Field(default=30, ge=1, le=24 * 60)
    per_user: dict[Annotated[str, Field(pattern=USER_ID)], Annotated[int, Field(ge=1, le=1440)]] = (
        Field(default_factory=dict, description="Slack user id → daily minutes, e.g. U0123ABCD: 60")
    )
    minutes_per_draft: int = Field(
        default=5,
        ge=0,
        le=240,
        description="Estimate per reviewed draft, used for a day on which a person logged nothing.",
    )

    def for_user(self, user_id: str) -> int:
        """Return the daily budget of one person."""
        return self.per_user.get(user_id, self.daily_minutes)


class Reminder(_Strict):
    """The daily reminder about the time budget."""

    enabled: bool = True
    time: Clock = "09:30"
    channel: Annotated[str, Field(pattern=CHANNEL_ID)] | None = Field(
        default=None,
        description="Channel id for the reminder (default: the first review channel).",
    )
    grace_minutes: int = Field(
        default=120,
        ge=0,
        le=12 * 60,
        description="A reminder missed while the bot was down is still sent this long after.",
    )
    dm_over_budget: bool = Field(
        default=True, description="Send a short DM to each person over budget the day before."
    )
    weekly_digest: DayName | None = Field(
        default=None,
        description="Also post last week's chart (PNG) with the reminder on this day, e.g. mon.",
    )


class SensitiveDate(_Strict):
    """A date whose posts deserve a second look for tone (anniversaries, memorial days)."""

    date: Annotated[str, Field(pattern=MONTH_DAY, description='"MM-DD", every year.')]
    name: Name


def _default_sensitive_dates() -> list[SensitiveDate]:
    entries = [
        ("01-17", "阪神・淡路大震災の日", "Anniversary of the Great Hanshin earthquake"),
        ("03-11", "東日本大震災の日", "Anniversary of the Great East Japan earthquake"),
        ("08-06", "広島原爆の日", "Hiroshima memorial day"),
        ("08-09", "長崎原爆の日", "Nagasaki memorial day"),
        ("08-15", "終戦の日", "End-of-war memorial day"),
    ]
    return [SensitiveDate(date=d, name=Name(ja=ja, en=en)) for d, ja, en in entries]


def _check_month_day(value: str) -> None:
    month, day = (int(part) for part in value.split("-"))
    date(2024, month, day)  # 2024 is a leap year: 02-29 is a valid yearly date


class TimePolicy(_Strict):
    """The `time:` section of rules.yaml: when people work and how much time social media gets."""

    timezone: str = Field(default="Asia/Tokyo", description="IANA time zone, e.g. Asia/Tokyo.")
    working_days: list[DayName] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], min_length=1
    )
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    public_holidays: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = Field(
        default="JP",
        description="Country whose public holidays are days off (the holidays package); null: none.",
    )
    company_holidays: list[str] = Field(
        default_factory=list,
        description='Days off: "YYYY-MM-DD" once, or "MM-DD" every year (e.g. 12-31).',
    )
    budget: Budget = Field(default_factory=Budget)
    reminder: Reminder = Field(default_factory=Reminder)
    sensitive_dates: list[SensitiveDate] = Field(default_factory=_default_sensitive_dates)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Asia/Tokyo)"
            ) from None
        return value

    @field_validator("company_holidays", mode="before")
    @classmethod
    def _dates_as_text(cls, value: Any) -> Any:
        # YAML reads an unquoted 2025-12-29 as a date: accept it as written.
        if isinstance(value, list):
            return [v.isoformat() if isinstance(v, date) else v for v in value]
        return value

    @field_validator("company_holidays")
    @classmethod
    def _valid_days(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                if re.fullmatch(r"\d{4}-\d{2}-\d{2}", item):
                    date.fromisoformat(item)
                elif re.fullmatch(MONTH_DAY, item):
                    _check_month_day(item)
                else:
                    raise ValueError
            except ValueError:
                raise ValueError(f'{item!r} is not "YYYY-MM-DD" or "MM-DD"') from None
        return value

    @field_validator("sensitive_dates")
    @classmethod
    def _valid_sensitive(cls, value: list[SensitiveDate]) -> list[SensitiveDate]:
        for item in value:
            try:
                _check_month_day(item.date)
            except ValueError:
                raise ValueError(f"{item.date!r} is not a calendar date") from None
        return value


class TimeRules:
    """Answers calendar questions for one TimePolicy; every instant must be timezone-aware."""

    def __init__(self, policy: TimePolicy | None = None) -> None:
        self.policy = policy or TimePolicy()
        self.tz = ZoneInfo(self.policy.timezone)
        self._weekdays = {DAY_NAMES.index(d) for d in self.policy.working_days}
        self._once = {date.fromisoformat(d) for d in self.policy.company_holidays if len(d) == 10}
        self._yearly = {d for d in self.policy.company_holidays if len(d) == 5}
        self._sensitive = {s.date: s.name for s in self.policy.sensitive_dates}
        self.work_start = _hhmm(self.policy.working_hours.start)
        self.work_end = _hhmm(self.policy.working_hours.end)
        self.reminder_time = _hhmm(self.policy.reminder.time)

    @cached_property
    def _public(self) -> Any:
        if self.policy.public_holidays is None:
            return None
        import holidays  # imported on first use: the `check` CLI never needs it

        return holidays.country_holidays(self.policy.public_holidays)

    def local(self, instant: datetime) -> datetime:
        """Return instant in the company's time zone."""
        if instant.tzinfo is None:
            raise ValueError("naive datetime; pass a timezone-aware one")
        return instant.astimezone(self.tz)

    def today(self, instant: datetime) -> date:
        """Return the company's local date at instant."""
        return self.local(instant).date()

    def at(self, day: date, clock: time) -> datetime:
        """Return the aware instant of a local wall-clock time on day."""
        return datetime.combine(day, clock, tzinfo=self.tz)

    def holiday_name(self, day: date) -> str | None:
        """Return why day is a day off (public or company holiday), or None."""
        name = self._public.get(day) if self._public is not None else None
        if name:
            return str(name)
        if day in self._once or day.strftime("%m-%d") in self._yearly:
            return "company holiday"
        return None

    def is_working_day(self, day: date) -> bool:
        """Return True if day is a working weekday and no holiday."""
        return day.weekday() in self._weekdays and self.holiday_name(day) is None

    def is_working_time(self, instant: datetime) -> bool:
        """Return True during working hours on a working day."""
        local = self.local(instant)
        if not self.is_working_day(local.date()):
            return False
        return self.work_start <= local.time().replace(tzinfo=None) < self.work_end

    def working_hours_after(self, start: datetime, hours: float) -> datetime:
        """Return the instant `hours` working hours after start (holidays and nights skipped)."""
        left = timedelta(hours=hours)
        at = self.local(start)
        for _ in range(3660):  # ten years of days: a policy with no working day cannot loop
            day_start = self.at(at.date(), self.work_start)
            day_end = self.at(at.date(), self.work_end)
            if not self.is_working_day(at.date()) or at >= day_end:
                at = self.at(at.date() + timedelta(days=1), self.work_start)
                continue
            at = max(at, day_start)
            if at + left <= day_end:
                return (at + left).astimezone(start.tzinfo)
            left -= day_end - at
            at = day_end
        return start + timedelta(hours=hours)

    def previous_working_day(self, day: date) -> date:
        """Return the last working day before day (within a year; else the day before)."""
        candidate = day - timedelta(days=1)
        for _ in range(366):
            if self.is_working_day(candidate):
                return candidate
            candidate -= timedelta(days=1)
        return day - timedelta(days=1)

    def working_days_between(self, first: date, last: date) -> list[date]:
        """Return the working days from first to last, both included."""
        days = []
        day = first
        while day <= last:
            if self.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days

    def sensitive_date(self, instant: datetime, locale: str) -> str | None:
        """Return the name of the sensitive date at instant (local), or None."""
        name = self._sensitive.get(self.local(instant).strftime("%m-%d"))
        return name.get(locale) if name else None

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """Return the instants where a local day starts and the next one starts."""
        return self.at(day, time(0)), self.at(day + timedelta(days=1), time(0))

    def week_start(self, day: date) -> date:
        """Return the Monday of day's week."""
        return day - timedelta(days=day.weekday())


# -- findings the review service adds (the rules engine has no clock) -------------------------

POLICY_RULE_PREFIX = "policy."
AFTER_HOURS_RULE = "policy.after_hours"
SENSITIVE_DATE_RULE = "policy.sensitive_date"

_TEXT: dict[str, dict[str, str]] = {
    "after_hours": {
        "ja": "勤務時間外の投稿です。他社アカウントへの返信や連絡は勤務時間になってからにしましょう（G4）",
        "en": "Posted outside working hours: replies to other companies' accounts wait for working time (G4)",
    },
    "after_hours_hint": {
        "ja": "予約投稿にするか、{start} 以降に送りましょう",
        "en": "Schedule it, or send it after {start}",
    },
    "sensitive": {
        "ja": "今日は{name}です。どの投稿も、言葉の選び方や明るすぎるトーンをもう一度見直しましょう",
        "en": "Today is the {name}: re-read every post for tone before it goes out",
    },
}


def policy_text(locale: str, key: str, **kwargs: Any) -> str:
    """Return a policy message in locale (Japanese when the locale lacks it)."""
    return i18n.text(_TEXT, locale, key, **kwargs)


@dataclass(frozen=True, slots=True)
class PolicyNote:
    """A finding the time policy adds to a review: what it says and how serious it is."""

    rule_id: str
    category: str
    severity: Literal["info", "warning"]
    message: str
    suggestion: str | None
    guideline: str
    excerpt: str


def policy_notes(rules: TimeRules, instant: datetime, locale: str) -> list[PolicyNote]:
    """Return the time-policy findings for a draft posted at instant."""
    notes: list[PolicyNote] = []
    local = rules.local(instant)
    sensitive = rules.sensitive_date(instant, locale)
    if sensitive:
        notes.append(
            PolicyNote(
                rule_id=SENSITIVE_DATE_RULE,
                category="policy",
                severity="warning",
                message=policy_text(locale, "sensitive", name=sensitive),
                suggestion=None,
                guideline="G2",
                excerpt=local.strftime("%m/%d"),
            )
        )
    if not rules.is_working_time(instant):
        notes.append(
            PolicyNote(
                rule_id=AFTER_HOURS_RULE,
                category="policy",
                severity="info",
                message=policy_text(locale, "after_hours"),
                suggestion=policy_text(
                    locale, "after_hours_hint", start=rules.policy.working_hours.start
                ),
                guideline="G4",
                excerpt=local.strftime("%H:%M"),
            )
        )
    return notes
