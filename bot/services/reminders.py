"""The daily time-budget reminder: sent once per working day across replicas and restarts (G3)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.policy.time import DAY_NAMES, TimeRules
from bot.services.review import DeliveryError
from bot.services.time_budget import DayUsage, usage_by_day
from bot.store.base import TimeStore

log = logging.getLogger(__name__)

DAILY = "daily"
WEEKLY_CHART = "weekly_chart"
OVER_BUDGET = "over_budget:"  # + user id: one DM per person and day


@dataclass(frozen=True, slots=True)
class DailyDigest:
    """What the morning reminder says: today's budget and how the previous working day went."""

    today: date
    daily_budget: int
    per_user_budgets: dict[str, int]
    previous_day: date
    people: tuple[DayUsage, ...]
    drafts_reviewed: int
    minutes_per_draft: int
    pending_approvals: int | None  # None: approvals are not tracked (issue 4 not wired in)
    locale: str


@dataclass(frozen=True, slots=True)
class OverBudgetNote:
    """A short, kind DM to someone who went over budget on the previous working day."""

    usage: DayUsage
    minutes_per_draft: int
    locale: str


class ReminderNotifier(Protocol):
    """Where reminders go (Slack in production, a recorder in tests); raises DeliveryError."""

    def post_digest(self, channel: str, digest: DailyDigest) -> None:
        """Post the morning reminder in the channel."""
        ...

    def send_over_budget(self, note: OverBudgetNote) -> None:
        """DM one person about yesterday's time."""
        ...

    def post_chart(self, channel: str, png: bytes, title: str, filename: str) -> None:
        """Upload a chart image to the channel."""
        ...


@dataclass
class ReminderService:
    """Decide whether a reminder is due now, claim it in the database, and send it once."""

    store: TimeStore
    rules: TimeRules
    notifier: ReminderNotifier
    clock: Callable[[], datetime]
    locale: str
    channel: str | None
    pending_approvals: Callable[[], int] | None = None  # hook for issue 4's approval store
    weekly_chart: Callable[[date, date], tuple[bytes, str]] | None = None
    claim_seconds: float = 120.0
    retry_seconds: float = 300.0

    def due_at(self, day: date) -> datetime:
        """Return when day's reminder is scheduled (local reminder time)."""
        return self.rules.at(day, self.rules.reminder_time)

    def run_due(self) -> list[str]:
        """Send whatever reminder of today is due and not yet sent; return what was sent."""
        policy = self.rules.policy.reminder
        now = self.clock()
        today = self.rules.today(now)
        if not policy.enabled or not self.rules.is_working_day(today):
            return []
        scheduled = self.due_at(today)
        if now < scheduled:
            return []
        # A new claim only within the grace window (a bot started late still sends it); a claim
        # taken in time but never sent is retried until the working day ends.
        fresh = now <= scheduled + timedelta(minutes=policy.grace_minutes)
        give_up = max(self.rules.at(today, self.rules.work_end), scheduled)
        if not fresh and now > give_up:
            return []
        previous = self.rules.previous_working_day(today)
        usage = usage_by_day(self.store, self.rules, previous, previous).get(previous, {})
        sent: list[str] = []
        channel = policy.channel or self.channel
        if channel and self._once(DAILY, today, fresh, lambda: self._post_digest(channel, today)):
            sent.append(DAILY)
        if policy.dm_over_budget:
            for person in sorted(usage.values(), key=lambda u: u.user_id):
                if person.over <= 0:
                    continue
                note = OverBudgetNote(
                    person, self.rules.policy.budget.minutes_per_draft, self.locale
                )
                name = OVER_BUDGET + person.user_id
                if self._once(name, today, fresh, lambda n=note: self.notifier.send_over_budget(n)):
                    sent.append(name)
        if (
            channel
            and self.weekly_chart is not None
            and policy.weekly_digest == DAY_NAMES[today.weekday()]
            and self._once(WEEKLY_CHART, today, fresh, lambda: self._post_chart(channel, today))
        ):
            sent.append(WEEKLY_CHART)
        return sent

    def digest(self, today: date) -> DailyDigest:
        """Return the reminder for today (also what the tests read)."""
        previous = self.rules.previous_working_day(today)
        usage = usage_by_day(self.store, self.rules, previous, previous).get(previous, {})
        start, end = self.rules.day_bounds(previous)
        budget = self.rules.policy.budget
        return DailyDigest(
            today=today,
            daily_budget=budget.daily_minutes,
            per_user_budgets=dict(budget.per_user),
            previous_day=previous,
            people=tuple(sorted(usage.values(), key=lambda u: (-u.minutes, u.user_id))),
            drafts_reviewed=len(self.store.drafts_between(start, end)),
            minutes_per_draft=budget.minutes_per_draft,
            pending_approvals=self.pending_approvals() if self.pending_approvals else None,
            locale=self.locale,
        )

    def _post_digest(self, channel: str, today: date) -> None:
        self.notifier.post_digest(channel, self.digest(today))

    def _post_chart(self, channel: str, today: date) -> None:
        assert self.weekly_chart is not None
        monday = self.rules.week_start(today) - timedelta(days=7)
        png, title = self.weekly_chart(monday, monday + timedelta(days=6))
        self.notifier.post_chart(channel, png, title, f"social-time-{monday.isoformat()}.png")

    def _once(self, name: str, day: date, fresh: bool, send: Callable[[], None]) -> bool:
        if not fresh and self.store.reminder(name, day) is None:
            return False  # missed by more than the grace window: too late to start
        now = self.clock()
        token = uuid.uuid4().hex
        if not self.store.claim_reminder(
            name, day, token, now, now + timedelta(seconds=self.claim_seconds)
        ):
            return False  # sent already, or another replica is sending it right now
        try:
            send()
        except DeliveryError as err:
            retry_at = self.clock() + timedelta(seconds=self.retry_seconds)
            log.warning("reminder %s for %s not delivered (%s); retrying", name, day, err)
            self.store.reminder_failed(name, day, token, retry_at, str(err))
            return False
        except BaseException as err:
            self.store.reminder_failed(name, day, token, self.clock(), repr(err))
            raise
        self.store.reminder_sent(name, day, token, self.clock())
        return True
