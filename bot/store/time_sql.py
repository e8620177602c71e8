"""Time logs and reminder claims on SQLAlchemy Core: the time-budget half of SqlStore."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from bot.store.base import DraftActivity, ReminderRecord, TimeEntry
from bot.store.schema import UtcDateTime, drafts, findings, metadata

# The current shape of the tables (migration version 3 builds them).
time_entries = Table(
    "time_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("note", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("undone_at", UtcDateTime),
    Index("ix_time_entries_user_day", "user_id", "day"),
)

reminder_sends = Table(
    "reminder_sends",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("day", Date, nullable=False),
    Column("claim_token", String(64)),
    Column("claimed_until", UtcDateTime),
    Column("sent_at", UtcDateTime),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("name", "day", name="uq_reminder_sends_name_day"),
)


def _entry(row: Any) -> TimeEntry:
    return TimeEntry(
        id=row.id,
        user_id=row.user_id,
        day=row.day,
        minutes=row.minutes,
        note=row.note,
        created_at=row.created_at,
    )


class TimeSqlMixin:
    """Time entries and reminder claims; mixed into SqlStore, which supplies the connections."""

    # Supplied by SqlStore: a write transaction and a read-only connection.
    _write: Callable[[], AbstractContextManager[Connection]]
    _read: Callable[[], AbstractContextManager[Connection]]

    # -- time log -------------------------------------------------------------------------

    def add_time(
        self, user_id: str, day: date, minutes: int, note: str | None, now: datetime
    ) -> TimeEntry:
        """Record minutes a person spent on social media on a local day."""
        with self._write() as conn:
            row = conn.execute(
                time_entries.insert()
                .values(user_id=user_id, day=day, minutes=minutes, note=note, created_at=now)
                .returning(*time_entries.c)
            ).first()
        return _entry(row)

    def undo_time(self, user_id: str, now: datetime) -> TimeEntry | None:
        """Take back a person's latest entry; two undos at once take back one entry each."""
        latest = (
            select(func.max(time_entries.c.id))
            .where(time_entries.c.user_id == user_id, time_entries.c.undone_at.is_(None))
            .scalar_subquery()
        )
        stmt = (
            update(time_entries)
            .where(time_entries.c.id == latest, time_entries.c.undone_at.is_(None))
            .values(undone_at=now)
            .returning(*time_entries.c)
        )
        with self._write() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else _entry(row)

    def time_entries(self, first: date, last: date, user_id: str | None = None) -> list[TimeEntry]:
        """Return the entries still standing for local days first..last, oldest first."""
        stmt = select(time_entries).where(
            time_entries.c.day >= first,
            time_entries.c.day <= last,
            time_entries.c.undone_at.is_(None),
        )
        if user_id is not None:
            stmt = stmt.where(time_entries.c.user_id == user_id)
        with self._read() as conn:
            return [_entry(r) for r in conn.execute(stmt.order_by(time_entries.c.id))]

    # -- activity for reports ---------------------------------------------------------------

    def drafts_between(self, start: datetime, end: datetime) -> list[DraftActivity]:
        """Return who posted each draft reviewed in [start, end), and when."""
        stmt = (
            select(drafts.c.user_id, drafts.c.created_at)
            .where(drafts.c.created_at >= start, drafts.c.created_at < end)
            .order_by(drafts.c.created_at)
        )
        with self._read() as conn:
            return [DraftActivity(r.user_id, r.created_at) for r in conn.execute(stmt)]

    def findings_by_category(self, start: datetime, end: datetime) -> dict[str, int]:
        """Count the findings of each draft's latest review, for drafts posted in [start, end)."""
        stmt = (
            select(findings.c.category, func.count().label("n"))
            .select_from(findings.join(drafts, findings.c.draft_id == drafts.c.id))
            .where(
                drafts.c.created_at >= start,
                drafts.c.created_at < end,
                drafts.c.deleted.is_(False),
                findings.c.review_no == drafts.c.review_no,
            )
            .group_by(findings.c.category)
        )
        with self._read() as conn:
            return dict(Counter({r.category: r.n for r in conn.execute(stmt)}))

    # -- reminders: claimed once per name and local day ----------------------------------------

    def claim_reminder(
        self, name: str, day: date, token: str, now: datetime, until: datetime
    ) -> bool:
        """Take the right to send a reminder for day: first claim, or one abandoned unsent."""
        with self._write() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            inserted = conn.execute(
                dialect.insert(reminder_sends)
                .values(
                    name=name,
                    day=day,
                    claim_token=token,
                    claimed_until=until,
                    attempts=1,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["name", "day"])
                .returning(reminder_sends.c.id)
            ).scalar()
            if inserted is not None:
                return True
            retaken = conn.execute(
                update(reminder_sends)
                .where(
                    reminder_sends.c.name == name,
                    reminder_sends.c.day == day,
                    reminder_sends.c.sent_at.is_(None),
                    or_(
                        reminder_sends.c.claimed_until.is_(None),
                        reminder_sends.c.claimed_until < now,
                    ),
                )
                .values(
                    claim_token=token,
                    claimed_until=until,
                    attempts=reminder_sends.c.attempts + 1,
                )
                .returning(reminder_sends.c.id)
            ).scalar()
            return retaken is not None

    def reminder_sent(self, name: str, day: date, token: str, now: datetime) -> bool:
        """Record that the claimed reminder went out; False if the claim was lost meanwhile."""
        return self._update_reminder(
            name, day, token, sent_at=now, claim_token=None, claimed_until=None, last_error=None
        )

    def reminder_failed(
        self, name: str, day: date, token: str, retry_at: datetime, error: str
    ) -> bool:
        """Give the claim back after a failed send, to be retried from retry_at."""
        return self._update_reminder(
            name, day, token, claim_token=None, claimed_until=retry_at, last_error=error[:2000]
        )

    def _update_reminder(self, name: str, day: date, token: str, **values: Any) -> bool:
        with self._write() as conn:
            result = conn.execute(
                update(reminder_sends)
                .where(
                    and_(
                        reminder_sends.c.name == name,
                        reminder_sends.c.day == day,
                        reminder_sends.c.claim_token == token,
                        reminder_sends.c.sent_at.is_(None),
                    )
                )
                .values(**values)
            )
            return result.rowcount == 1

    def reminder(self, name: str, day: date) -> ReminderRecord | None:
        """Return the claim record of one reminder on one day, if any."""
        with self._read() as conn:
            row = conn.execute(
                select(reminder_sends).where(
                    reminder_sends.c.name == name, reminder_sends.c.day == day
                )
            ).first()
        if row is None:
            return None
        return ReminderRecord(
            name=row.name,
            day=row.day,
            sent_at=row.sent_at,
            attempts=row.attempts,
            last_error=row.last_error,
            claimed=row.claim_token is not None,
        )

    def reminders_on(self, day: date) -> list[ReminderRecord]:
        """Return every reminder claimed for a day."""
        with self._read() as conn:
            names = list(
                conn.execute(
                    select(reminder_sends.c.name)
                    .where(reminder_sends.c.day == day)
                    .order_by(reminder_sends.c.id)
                ).scalars()
            )
        return [r for r in (self.reminder(n, day) for n in names) if r is not None]
