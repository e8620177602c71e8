"""The current shape of the tables, as the queries see it (migrations build it step by step)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """Refuse naive datetimes; store UTC (naive on SQLite, which has no time zones)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return the stored instant as an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UtcDateTime, nullable=False),
)

drafts = Table(
    "drafts",
    metadata,
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

findings = Table(
    "findings",
    metadata,
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

# -- approvals (issue 4; created by migration version 2) ---------------------------------------

approvals = Table(
    "approvals",
    metadata,
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

approval_votes = Table(
    "approval_votes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("approval_id", Integer, ForeignKey("approvals.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("comment", Text),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("approval_id", "user_id", name="uq_approval_votes_voter"),
)

approval_events = Table(
    "approval_events",
    metadata,
    Column("id", Integer, primary_key=True),
    # No cascade: the audit trail outlives a draft row.
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


# Drafts and approval requests share the same "bring Slack up to date" claim columns.


def claim_released() -> dict[str, Any]:
    """Return the column values of a claim given up after Slack was brought up to date."""
    return {
        "claim_token": None,
        "claimed_until": None,
        "next_attempt_at": None,
        "attempts": 0,
        "last_error": None,
    }


def claim_postponed(table: Table, retry_at: datetime, error: str) -> dict[str, Any]:
    """Return the column values of a claim given up after Slack refused: retry at retry_at."""
    return {
        "claim_token": None,
        "claimed_until": None,
        "next_attempt_at": retry_at,
        "attempts": table.c.attempts + 1,
        "last_error": error[:2000],
    }
