"""Versioned schema migrations, applied in order at start-up under a lock so replicas can race."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    text,
)

from bot.store.schema import UtcDateTime, schema_version

# Any constant works; it only has to be the same for every replica of this app.
_PG_MIGRATION_LOCK = 0x5EC1A1


def _v1_drafts_and_findings(conn: Connection) -> None:
    # Tables are spelled out here, frozen as of version 1: later versions add steps, never edit.
    md = MetaData()
    Table(
        "drafts",
        md,
        Column("id", Integer, primary_key=True),
        Column("channel", String(32), nullable=False),
        Column("ts", String(32), nullable=False),
        Column("user_id", String(32)),
        Column("text_hash", String(64), nullable=False),
        Column("edited_ts", String(32)),
        Column("revision", Integer, nullable=False),
        Column("synced_revision", Integer, nullable=False),
        Column("review_no", Integer, nullable=False),
        Column("deleted", Boolean, nullable=False),
        Column("reply_ts", String(32)),
        Column("shown_verdict", String(16)),
        Column("claim_token", String(64)),
        Column("claimed_until", UtcDateTime),
        Column("next_attempt_at", UtcDateTime),
        Column("attempts", Integer, nullable=False),
        Column("last_error", Text),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        UniqueConstraint("channel", "ts", name="uq_drafts_channel_ts"),
    )
    Table(
        "findings",
        md,
        Column("id", Integer, primary_key=True),
        Column("draft_id", Integer, ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False),
        Column("review_no", Integer, nullable=False),
        Column("position", Integer, nullable=False),
        Column("rule_id", String(200), nullable=False),
        Column("category", String(100), nullable=False),
        Column("severity", String(16), nullable=False),
        Column("requires_approval", Boolean, nullable=False),
        Column("excerpt", Text, nullable=False),
        Column("message", Text, nullable=False),
        Column("suggestion", Text),
        Column("guideline", String(32)),
        Column("confidence", String(16), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("dismissed_by", String(32)),
        Column("dismissed_at", UtcDateTime),
        UniqueConstraint("draft_id", "review_no", "position", name="uq_findings_review_position"),
        Index("ix_findings_rule_id", "rule_id"),
    )
    md.create_all(conn)


def _v3_time_log_and_reminders(conn: Connection) -> None:
    # Frozen as of version 3 (issue 5): minutes people log, and reminders claimed per local day.
    md = MetaData()
    Table(
        "time_entries",
        md,
        Column("id", Integer, primary_key=True),
        Column("user_id", String(32), nullable=False),
        Column("day", Date, nullable=False),
        Column("minutes", Integer, nullable=False),
        Column("note", Text),
        Column("created_at", UtcDateTime, nullable=False),
        Column("undone_at", UtcDateTime),
        Index("ix_time_entries_user_day", "user_id", "day"),
    )
    Table(
        "reminder_sends",
        md,
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
    md.create_all(conn)


def _v2_approvals(conn: Connection) -> None:
    # Frozen as of version 2 (issue 4: manager approvals); `drafts` is only named for the key.
    md = MetaData()
    Table("drafts", md, Column("id", Integer, primary_key=True))
    approvals = Table(
        "approvals",
        md,
        Column("id", Integer, primary_key=True),
        Column("draft_id", Integer, ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False),
        Column("review_no", Integer, nullable=False),
        Column("text_hash", String(64), nullable=False),
        Column("text", Text, nullable=False),
        Column("channel", String(32), nullable=False),
        Column("draft_ts", String(32), nullable=False),
        Column("author_id", String(32)),
        Column("required", Integer, nullable=False),
        Column("approve_count", Integer, nullable=False),
        Column("state", String(16), nullable=False),
        Column("decided_by", String(32)),
        Column("decided_at", UtcDateTime),
        Column("note", Text),
        Column("remind_at", UtcDateTime),
        Column("expires_at", UtcDateTime),
        Column("reminders", Integer, nullable=False),
        Column("thread_msg_ts", String(32)),
        Column("channel_msg", String(80)),
        Column("shown_state", String(16)),
        Column("revision", Integer, nullable=False),
        Column("synced_revision", Integer, nullable=False),
        Column("claim_token", String(64)),
        Column("claimed_until", UtcDateTime),
        Column("next_attempt_at", UtcDateTime),
        Column("attempts", Integer, nullable=False),
        Column("last_error", Text),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        UniqueConstraint("draft_id", "review_no", name="uq_approvals_draft_review"),
        Index("ix_approvals_state", "state"),
        Index("ix_approvals_author", "author_id"),
    )
    votes = Table(
        "approval_votes",
        md,
        Column("id", Integer, primary_key=True),
        Column(
            "approval_id", Integer, ForeignKey("approvals.id", ondelete="CASCADE"), nullable=False
        ),
        Column("user_id", String(32), nullable=False),
        Column("comment", Text),
        Column("at", UtcDateTime, nullable=False),
        UniqueConstraint("approval_id", "user_id", name="uq_approval_votes_voter"),
    )
    events = Table(
        "approval_events",
        md,
        Column("id", Integer, primary_key=True),
        Column("approval_id", Integer, nullable=False),
        Column("kind", String(16), nullable=False),
        Column("actor", String(32)),
        Column("note", Text),
        Column("at", UtcDateTime, nullable=False),
        Column("notice", Boolean, nullable=False),
        Column("notified_at", UtcDateTime),
        Index("ix_approval_events_at", "at"),
        Index("ix_approval_events_approval", "approval_id"),
    )
    md.create_all(conn, tables=[approvals, votes, events])


def _v4_follow_decisions(conn: Connection) -> None:
    # Frozen as of version 4 (issue 6): every /social-follow answer, for the audit export and
    # for checking drafts that announce a follow.
    md = MetaData()
    Table(
        "follow_decisions",
        md,
        Column("id", Integer, primary_key=True),
        Column("handle", String(64), nullable=False),
        Column("kind", String(32), nullable=False),
        Column("followed_us", Boolean, nullable=False),
        Column("action", String(16), nullable=False),
        Column("outcome", String(16), nullable=False),
        Column("reason", Text, nullable=False),
        Column("user_id", String(32)),
        Column("channel", String(32)),
        Column("request_ts", String(32)),
        Column("approval_id", Integer),
        Column("at", UtcDateTime, nullable=False),
        Index("ix_follow_decisions_handle", "handle"),
        Index("ix_follow_decisions_at", "at"),
    )
    md.create_all(conn)


# Append new steps at the end; never reorder or edit a step that has shipped.
MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (1, _v1_drafts_and_findings),
    (2, _v2_approvals),
    (3, _v3_time_log_and_reminders),
    (4, _v4_follow_decisions),
]

LATEST_VERSION = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    """Return the highest applied migration version (0 for an empty database)."""
    return conn.execute(select(func.coalesce(func.max(schema_version.c.version), 0))).scalar_one()


def migrate(conn: Connection, now: datetime) -> list[int]:
    """Apply every pending migration inside the caller's transaction; return the versions applied.

    The caller's transaction must hold the database's migration lock: on SQLite the store
    begins every transaction with BEGIN IMMEDIATE; on PostgreSQL we take an advisory lock here,
    so a second replica waits, then finds nothing left to do.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    schema_version.create(conn, checkfirst=True)
    done = current_version(conn)
    applied = []
    for version, step in MIGRATIONS:
        if version <= done:
            continue
        step(conn)
        conn.execute(insert(schema_version).values(version=version, applied_at=now))
        applied.append(version)
    return applied
