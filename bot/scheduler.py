"""Run the daily reminder on time (APScheduler 3.x); the database decides who actually sends it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.policy.time import TimeRules

log = logging.getLogger(__name__)

REMINDER_JOB = "daily-reminder"
CATCH_UP_JOB = "reminder-catch-up"


def reminder_trigger(rules: TimeRules) -> Any:
    """Return the cron trigger of the daily reminder: working weekdays, local reminder time.

    Day names, never numbers: APScheduler 3.x counts Monday as 0, cron as 1. Holidays are not
    in the trigger; the reminder service skips them, since the calendar changes every year.
    """
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(
        day_of_week=",".join(rules.policy.working_days),
        hour=rules.reminder_time.hour,
        minute=rules.reminder_time.minute,
        timezone=rules.tz,
    )


class ReminderScheduler:
    """A BackgroundScheduler with two jobs: the reminder on time, and a catch-up every few minutes.

    The catch-up also runs once at start: a bot started within the grace window after the
    reminder time still sends it, and a reminder whose send failed is retried. Every replica
    runs both jobs; the claim in the database lets exactly one of them send.
    """

    def __init__(
        self,
        run_due: Callable[[], Any],
        rules: TimeRules,
        clock: Callable[[], datetime],
        catch_up_minutes: float = 5.0,
    ) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.rules = rules
        self._clock = clock
        self._run_due = run_due
        self.scheduler = BackgroundScheduler(
            timezone=rules.tz,
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        grace = int(rules.policy.reminder.grace_minutes * 60) or 1
        self.scheduler.add_job(
            self._run,
            reminder_trigger(rules),
            id=REMINDER_JOB,
            misfire_grace_time=grace,
        )
        self.scheduler.add_job(
            self._run,
            "interval",
            minutes=catch_up_minutes,
            id=CATCH_UP_JOB,
            next_run_time=clock(),
            misfire_grace_time=None,
        )

    def _run(self) -> None:
        # The one error handler for scheduled work: a failure is logged and the next run retries.
        try:
            sent = self._run_due()
            if sent:
                log.info("reminders sent: %s", ", ".join(sent))
        except Exception:
            log.exception("reminder run failed")

    def add_housekeeping(self, name: str, func: Callable[[], Any], minutes: float) -> None:
        """Run func now and then every few minutes (e.g. the retention purge); failures are logged."""

        def run() -> None:
            try:
                func()
            except Exception:
                log.exception("%s failed", name)

        self.scheduler.add_job(
            run,
            "interval",
            minutes=minutes,
            id=name,
            next_run_time=self._clock(),
            misfire_grace_time=None,
        )

    def next_reminder(self) -> datetime | None:
        """Return when the reminder job fires next (after start)."""
        job = self.scheduler.get_job(REMINDER_JOB)
        return getattr(job, "next_run_time", None)

    def start(self) -> None:
        """Start the scheduler thread."""
        self.scheduler.start()
        log.info("daily reminder scheduled; next at %s", self.next_reminder())

    def stop(self) -> None:
        """Stop the scheduler, waiting for a running reminder to finish."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
