"""Follow decisions on SQLAlchemy Core: the follow-policy half of SqlStore (and its audit rows)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    insert,
    select,
)

from bot.store.base import AuditRow
from bot.store.schema import UtcDateTime, approvals, metadata

# The current shape of the table (migration version 4 builds it).
follow_decisions = Table(
    "follow_decisions",
    metadata,
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
    # The manager request when the policy says ask_manager (approvals.id; no key: audit survives).
    Column("approval_id", Integer),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_follow_decisions_handle", "handle"),
    Index("ix_follow_decisions_at", "at"),
)

FOLLOW_AUDIT_EVENT = "follow_decision"


@dataclass(frozen=True, slots=True)
class FollowRecord:
    """One recorded /social-follow answer, with the state of its manager request if any."""

    id: int
    handle: str
    kind: str
    followed_us: bool
    action: str
    outcome: str
    reason: str
    user_id: str | None
    channel: str | None
    request_ts: str | None
    approval_id: int | None
    at: datetime
    approval_state: str | None = None


class FollowSqlMixin:
    """The FollowStore contract; SqlStore supplies _write() and _read()."""

    _write: Callable[[], AbstractContextManager[Connection]]
    _read: Callable[[], AbstractContextManager[Connection]]

    def record_follow(
        self,
        *,
        handle: str,
        kind: str,
        followed_us: bool,
        action: str,
        outcome: str,
        reason: str,
        user_id: str | None,
        channel: str | None,
        request_ts: str | None,
        approval_id: int | None,
        now: datetime,
    ) -> int:
        """Record one follow decision; return its id."""
        with self._write() as conn:
            return int(
                conn.execute(
                    insert(follow_decisions)
                    .values(
                        handle=handle,
                        kind=kind,
                        followed_us=followed_us,
                        action=action,
                        outcome=outcome,
                        reason=reason,
                        user_id=user_id,
                        channel=channel,
                        request_ts=request_ts,
                        approval_id=approval_id,
                        at=now,
                    )
                    .returning(follow_decisions.c.id)
                ).scalar_one()
            )

    def latest_follows(self, handles: Sequence[str]) -> dict[str, FollowRecord]:
        """Return the latest decision per handle (lower case), with its request's state."""
        if not handles:
            return {}
        latest = (
            select(func.max(follow_decisions.c.id))
            .where(follow_decisions.c.handle.in_(list(handles)))
            .group_by(follow_decisions.c.handle)
        )
        stmt = (
            select(follow_decisions, approvals.c.state.label("approval_state"))
            .join(approvals, approvals.c.id == follow_decisions.c.approval_id, isouter=True)
            .where(follow_decisions.c.id.in_(latest.scalar_subquery()))
        )
        with self._read() as conn:
            return {r["handle"]: _follow(r) for r in conn.execute(stmt).mappings()}

    def follows(self, since: datetime | None = None) -> list[FollowRecord]:
        """Return every follow decision since an instant, oldest first."""
        stmt = select(follow_decisions, approvals.c.state.label("approval_state")).join(
            approvals, approvals.c.id == follow_decisions.c.approval_id, isouter=True
        )
        if since is not None:
            stmt = stmt.where(follow_decisions.c.at >= since)
        stmt = stmt.order_by(follow_decisions.c.at, follow_decisions.c.id)
        with self._read() as conn:
            return [_follow(r) for r in conn.execute(stmt).mappings()]

    def audit(self, since: datetime | None) -> list[AuditRow]:
        """Return every approval event and follow decision since an instant, oldest first."""
        rows: list[AuditRow] = super().audit(since)  # type: ignore[misc]
        rows += [
            AuditRow(
                at=f.at,
                event=FOLLOW_AUDIT_EVENT,
                approval_id=f.approval_id,
                actor=f.user_id,
                note=(
                    f"@{f.handle} kind={f.kind} followed_us={str(f.followed_us).lower()} "
                    f"action={f.action}: {f.reason}"
                ),
                channel=f.channel or "",
                draft_ts=f.request_ts or "",
                author_id=f.user_id,
                review_no=0,
                text_hash="",
                state=f.outcome,
            )
            for f in self.follows(since)
        ]
        rows.sort(key=lambda r: r.at)  # stable: each source is already in order
        return rows


def _follow(row: Any) -> FollowRecord:
    return FollowRecord(
        id=row["id"],
        handle=row["handle"],
        kind=row["kind"],
        followed_us=bool(row["followed_us"]),
        action=row["action"],
        outcome=row["outcome"],
        reason=row["reason"],
        user_id=row["user_id"],
        channel=row["channel"],
        request_ts=row["request_ts"],
        approval_id=row["approval_id"],
        at=row["at"],
        approval_state=row["approval_state"],
    )
