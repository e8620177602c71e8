"""Approval requests, votes and their audit trail on SQLAlchemy Core (mixed into SqlStore)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    case,
    exists,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from bot.store.base import (
    ApprovalEvent,
    ApprovalRecord,
    AuditRow,
    ClaimedApproval,
    DecisionResult,
    FindingRecord,
    NewApproval,
)
from bot.store.schema import (
    approval_events,
    approval_votes,
    approvals,
    claim_postponed,
    claim_released,
    drafts,
    findings,
)

# Requests that still bind someone: an edit makes them stale.
_LIVE = ("pending", "approved")
# Events that also go to Slack as a thread (or channel) notice.
NOTICE_KINDS = frozenset({"approved", "rejected", "stale", "expired", "reminded"})


class _Abort(Exception):
    """Roll the transaction back and hand this result to the caller."""

    def __init__(self, result: DecisionResult) -> None:
        super().__init__(result.outcome)
        self.result = result


def _upsert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _record(row: RowMapping, voters: Sequence[str] = ()) -> ApprovalRecord:
    return ApprovalRecord(
        id=row["id"],
        draft_id=row["draft_id"],
        review_no=row["review_no"],
        text=row["text"],
        text_hash=row["text_hash"],
        channel=row["channel"],
        draft_ts=row["draft_ts"],
        author_id=row["author_id"],
        required=row["required"],
        approve_count=row["approve_count"],
        state=row["state"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        note=row["note"],
        remind_at=row["remind_at"],
        expires_at=row["expires_at"],
        reminders=row["reminders"],
        thread_msg_ts=row["thread_msg_ts"],
        channel_msg=row["channel_msg"],
        shown_state=row["shown_state"],
        revision=row["revision"],
        synced_revision=row["synced_revision"],
        created_at=row["created_at"],
        voters=tuple(voters),
    )


def _event(row: RowMapping) -> ApprovalEvent:
    return ApprovalEvent(
        id=row["id"],
        approval_id=row["approval_id"],
        kind=row["kind"],
        actor=row["actor"],
        note=row["note"],
        at=row["at"],
        notice=bool(row["notice"]),
        notified_at=row["notified_at"],
    )


def _log(
    conn: Connection,
    approval_id: int,
    kind: str,
    now: datetime,
    actor: str | None = None,
    note: str | None = None,
) -> None:
    conn.execute(
        insert(approval_events).values(
            approval_id=approval_id,
            kind=kind,
            actor=actor,
            note=note,
            at=now,
            notice=kind in NOTICE_KINDS,
        )
    )


# The request still binds the draft's current text and the draft is not deleted.
_CURRENT = exists().where(
    drafts.c.id == approvals.c.draft_id,
    drafts.c.review_no == approvals.c.review_no,
    drafts.c.deleted.is_(False),
)


def _claimable(now: datetime) -> Any:
    return and_(
        approvals.c.revision > approvals.c.synced_revision,
        or_(approvals.c.claimed_until.is_(None), approvals.c.claimed_until < now),
        or_(approvals.c.next_attempt_at.is_(None), approvals.c.next_attempt_at <= now),
    )


def _bump(now: datetime) -> dict[str, Any]:
    return {
        "revision": approvals.c.revision + 1,
        "next_attempt_at": None,
        "attempts": 0,
        "updated_at": now,
    }


class ApprovalSqlMixin:
    """The ApprovalStore contract; SqlStore supplies _write() and _read()."""

    _write: Callable[[], AbstractContextManager[Connection]]
    _read: Callable[[], AbstractContextManager[Connection]]

    # -- requests follow the draft -------------------------------------------------------------

    def track_review(
        self, channel: str, ts: str, text_hash: str, request: NewApproval | None, now: datetime
    ) -> list[int]:
        """Supersede approvals of older reviews, open one for this review if asked; return ids."""
        with self._write() as conn:
            draft = conn.execute(
                select(drafts.c.id, drafts.c.review_no, drafts.c.user_id, drafts.c.text_hash).where(
                    drafts.c.channel == channel, drafts.c.ts == ts, drafts.c.deleted.is_(False)
                )
            ).first()
            if draft is None or draft.text_hash != text_hash:
                return []  # deleted, or a newer edit is stored: its own call handles it
            touched = self._supersede(conn, draft.id, draft.review_no, now)
            needs = conn.execute(
                select(findings.c.id).where(
                    findings.c.draft_id == draft.id,
                    findings.c.review_no == draft.review_no,
                    findings.c.requires_approval.is_(True),
                )
            ).first()
            if request is None or needs is None:
                return touched
            approval_id = conn.execute(
                _upsert(conn, approvals)
                .values(
                    draft_id=draft.id,
                    review_no=draft.review_no,
                    text_hash=text_hash,
                    text=request.text,
                    channel=channel,
                    draft_ts=ts,
                    author_id=draft.user_id,
                    required=request.required,
                    approve_count=0,
                    state="pending",
                    remind_at=request.remind_at,
                    expires_at=request.expires_at,
                    reminders=0,
                    revision=1,
                    synced_revision=0,
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["draft_id", "review_no"])
                .returning(approvals.c.id)
            ).scalar()
            if approval_id is not None:
                _log(conn, approval_id, "requested", now, actor=draft.user_id)
                touched.append(approval_id)
            return touched

    @staticmethod
    def _supersede(conn: Connection, draft_id: int, review_no: int, now: datetime) -> list[int]:
        stale = conn.execute(
            update(approvals)
            .where(
                approvals.c.draft_id == draft_id,
                approvals.c.review_no < review_no,
                approvals.c.state.in_(_LIVE),
            )
            .values(state="stale", **_bump(now))
            .returning(approvals.c.id)
        ).scalars()
        ids = list(stale)
        for approval_id in ids:
            _log(conn, approval_id, "stale", now)
        return ids

    def withdraw_approvals(self, channel: str, ts: str, now: datetime) -> list[int]:
        """Withdraw the pending requests of a deleted draft; return their ids."""
        draft_ids = select(drafts.c.id).where(drafts.c.channel == channel, drafts.c.ts == ts)
        with self._write() as conn:
            ids = list(
                conn.execute(
                    update(approvals)
                    .where(approvals.c.draft_id.in_(draft_ids), approvals.c.state == "pending")
                    .values(state="withdrawn", **_bump(now))
                    .returning(approvals.c.id)
                ).scalars()
            )
            for approval_id in ids:
                _log(conn, approval_id, "withdrawn", now)
            return ids

    # -- reading ----------------------------------------------------------------------------------

    @staticmethod
    def _load(conn: Connection, approval_id: int) -> ApprovalRecord | None:
        row = (
            conn.execute(select(approvals).where(approvals.c.id == approval_id)).mappings().first()
        )
        if row is None:
            return None
        voters = conn.execute(
            select(approval_votes.c.user_id)
            .where(approval_votes.c.approval_id == approval_id)
            .order_by(approval_votes.c.id)
        ).scalars()
        return _record(row, list(voters))

    def approval(self, approval_id: int) -> ApprovalRecord | None:
        """Return one approval with its voters."""
        with self._read() as conn:
            return self._load(conn, approval_id)

    def approvals_of_draft(self, draft_id: int) -> list[int]:
        """Return the ids of every approval of a draft."""
        stmt = (
            select(approvals.c.id).where(approvals.c.draft_id == draft_id).order_by(approvals.c.id)
        )
        with self._read() as conn:
            return list(conn.execute(stmt).scalars())

    def pending_approvals(self, limit: int) -> list[ApprovalRecord]:
        """Return pending requests, oldest first."""
        return self._list(
            select(approvals)
            .where(approvals.c.state == "pending")
            .order_by(approvals.c.created_at, approvals.c.id)
            .limit(limit)
        )

    def approvals_by_author(self, author_id: str, limit: int) -> list[ApprovalRecord]:
        """Return an author's latest requests, newest first."""
        return self._list(
            select(approvals)
            .where(approvals.c.author_id == author_id)
            .order_by(approvals.c.created_at.desc(), approvals.c.id.desc())
            .limit(limit)
        )

    def _list(self, stmt: Any) -> list[ApprovalRecord]:
        with self._read() as conn:
            rows = list(conn.execute(stmt).mappings())
            ids = [r["id"] for r in rows]
            voters: dict[int, list[str]] = {i: [] for i in ids}
            if ids:
                for v in conn.execute(
                    select(approval_votes.c.approval_id, approval_votes.c.user_id)
                    .where(approval_votes.c.approval_id.in_(ids))
                    .order_by(approval_votes.c.id)
                ):
                    voters[v.approval_id].append(v.user_id)
        return [_record(r, voters[r["id"]]) for r in rows]

    # -- decisions ----------------------------------------------------------------------------------

    def _refused(self, conn: Connection, approval_id: int, voted: bool = False) -> _Abort:
        current = self._load(conn, approval_id)
        if current is None:
            return _Abort(DecisionResult("not_found", None))
        if current.state == "pending":
            still_current = conn.execute(
                select(approvals.c.id).where(approvals.c.id == approval_id, _CURRENT)
            ).first()
            if still_current is None:
                return _Abort(DecisionResult("stale", current))
            if voted:
                return _Abort(DecisionResult("already_voted", current))
        elif current.state == "stale":
            return _Abort(DecisionResult("stale", current))
        return _Abort(DecisionResult("closed", current))

    def approve(
        self, approval_id: int, user_id: str, comment: str | None, now: datetime
    ) -> DecisionResult:
        """Count user_id's approval once; decide when enough approvals are in."""
        try:
            with self._write() as conn:
                vote = conn.execute(
                    _upsert(conn, approval_votes)
                    .values(approval_id=approval_id, user_id=user_id, comment=comment, at=now)
                    .on_conflict_do_nothing(index_elements=["approval_id", "user_id"])
                    .returning(approval_votes.c.id)
                ).scalar()
                if vote is None:
                    raise self._refused(conn, approval_id, voted=True)
                enough = approvals.c.approve_count + 1 >= approvals.c.required
                row = conn.execute(
                    update(approvals)
                    .where(approvals.c.id == approval_id, approvals.c.state == "pending", _CURRENT)
                    .values(
                        approve_count=approvals.c.approve_count + 1,
                        state=case((enough, "approved"), else_="pending"),
                        decided_by=case((enough, user_id), else_=None),
                        decided_at=case((enough, now), else_=None),
                        note=case((enough, comment), else_=None),
                        **_bump(now),
                    )
                    .returning(approvals.c.state)
                ).first()
                if row is None:
                    raise self._refused(conn, approval_id)
                _log(conn, approval_id, "approve", now, actor=user_id, note=comment)
                if row.state == "approved":
                    _log(conn, approval_id, "approved", now, actor=user_id, note=comment)
                record = self._load(conn, approval_id)
                outcome = "approved" if row.state == "approved" else "counted"
                return DecisionResult(outcome, record)
        except _Abort as abort:
            return abort.result

    def reject(
        self, approval_id: int, user_id: str, reason: str | None, now: datetime
    ) -> DecisionResult:
        """Reject a pending request bound to the draft's current text."""
        try:
            with self._write() as conn:
                row = conn.execute(
                    update(approvals)
                    .where(approvals.c.id == approval_id, approvals.c.state == "pending", _CURRENT)
                    .values(
                        state="rejected",
                        decided_by=user_id,
                        decided_at=now,
                        note=reason,
                        **_bump(now),
                    )
                    .returning(approvals.c.id)
                ).first()
                if row is None:
                    raise self._refused(conn, approval_id)
                _log(conn, approval_id, "rejected", now, actor=user_id, note=reason)
                return DecisionResult("rejected", self._load(conn, approval_id))
        except _Abort as abort:
            return abort.result

    # -- time passing --------------------------------------------------------------------------------

    def remind_due(self, now: datetime, next_remind: datetime, limit: int) -> list[int]:
        """Re-announce pending requests whose reminder time has come; return their ids."""
        values = {"remind_at": next_remind, "reminders": approvals.c.reminders + 1}
        return self._take_due(approvals.c.remind_at, now, limit, values, "reminded")

    def expire_due(self, now: datetime, limit: int) -> list[int]:
        """Expire pending requests past their expiry; return their ids."""
        values = {"state": "expired", "decided_at": now}
        return self._take_due(approvals.c.expires_at, now, limit, values, "expired")

    def _take_due(
        self, deadline: Any, now: datetime, limit: int, values: dict[str, Any], event: str
    ) -> list[int]:
        """Update pending requests whose deadline has passed, in one conditional statement."""
        due = (
            select(approvals.c.id)
            .where(approvals.c.state == "pending", deadline <= now)
            .order_by(approvals.c.id)
            .limit(limit)
        )
        with self._write() as conn:
            ids = list(
                conn.execute(
                    update(approvals)
                    .where(
                        approvals.c.id.in_(due.scalar_subquery()),
                        approvals.c.state == "pending",
                        deadline <= now,
                    )
                    .values(**values, **_bump(now))
                    .returning(approvals.c.id)
                ).scalars()
            )
            for approval_id in ids:
                _log(conn, approval_id, event, now)
            return ids

    # -- bringing Slack up to date -------------------------------------------------------------------

    def claim_approval(
        self, approval_id: int, token: str, now: datetime, until: datetime
    ) -> ClaimedApproval | None:
        """Take the right to bring Slack up to date for one approval, or return None."""
        with self._write() as conn:
            claimed = conn.execute(
                update(approvals)
                .where(approvals.c.id == approval_id, _claimable(now))
                .values(claim_token=token, claimed_until=until)
                .returning(approvals.c.id)
            ).first()
            if claimed is None:
                return None
            record = self._load(conn, approval_id)
            assert record is not None
            notices = conn.execute(
                select(approval_events)
                .where(
                    approval_events.c.approval_id == approval_id,
                    approval_events.c.notice.is_(True),
                    approval_events.c.notified_at.is_(None),
                )
                .order_by(approval_events.c.id)
            ).mappings()
            found = conn.execute(
                select(findings)
                .where(
                    findings.c.draft_id == record.draft_id,
                    findings.c.review_no == record.review_no,
                )
                .order_by(findings.c.position)
            ).mappings()
            from bot.store.sql import _finding_record

            records: tuple[FindingRecord, ...] = tuple(_finding_record(f) for f in found)
            return ClaimedApproval(record, tuple(_event(n) for n in notices), records)

    def _mark_notified(self, conn: Connection, notified: Sequence[int], now: datetime) -> None:
        if notified:
            conn.execute(
                update(approval_events)
                .where(approval_events.c.id.in_(list(notified)))
                .values(notified_at=now)
            )

    def finish_approval(
        self,
        approval_id: int,
        token: str,
        revision: int,
        thread_msg_ts: str | None,
        channel_msg: str | None,
        shown_state: str | None,
        notified: Sequence[int],
        now: datetime,
    ) -> bool:
        """Record what Slack shows and which notices went out; True if more is pending."""
        with self._write() as conn:
            self._mark_notified(conn, notified, now)
            latest = conn.execute(
                update(approvals)
                .where(approvals.c.id == approval_id, approvals.c.claim_token == token)
                .values(
                    synced_revision=revision,
                    thread_msg_ts=thread_msg_ts,
                    channel_msg=channel_msg,
                    shown_state=shown_state,
                    **claim_released(),
                )
                .returning(approvals.c.revision)
            ).scalar()
        return latest is not None and latest > revision

    def postpone_approval(
        self,
        approval_id: int,
        token: str,
        retry_at: datetime,
        error: str,
        thread_msg_ts: str | None,
        channel_msg: str | None,
        notified: Sequence[int],
        now: datetime,
    ) -> None:
        """Give up the claim after a failed delivery, keeping what was posted; retry later."""
        with self._write() as conn:
            self._mark_notified(conn, notified, now)
            conn.execute(
                update(approvals)
                .where(approvals.c.id == approval_id, approvals.c.claim_token == token)
                .values(
                    thread_msg_ts=thread_msg_ts,
                    channel_msg=channel_msg,
                    **claim_postponed(approvals, retry_at, error),
                )
            )

    def due_approvals(self, now: datetime, limit: int) -> list[int]:
        """Return approvals whose Slack messages are behind and may be retried now."""
        stmt = select(approvals.c.id).where(_claimable(now)).order_by(approvals.c.id).limit(limit)
        with self._read() as conn:
            return list(conn.execute(stmt).scalars())

    # -- audit -----------------------------------------------------------------------------------------

    def audit(self, since: datetime | None) -> list[AuditRow]:
        """Return every audit entry since an instant, oldest first."""
        stmt = select(
            approval_events.c.at,
            approval_events.c.kind,
            approval_events.c.approval_id,
            approval_events.c.actor,
            approval_events.c.note,
            approvals.c.channel,
            approvals.c.draft_ts,
            approvals.c.author_id,
            approvals.c.review_no,
            approvals.c.text_hash,
            approvals.c.state,
        ).join(approvals, approvals.c.id == approval_events.c.approval_id, isouter=True)
        if since is not None:
            stmt = stmt.where(approval_events.c.at >= since)
        stmt = stmt.order_by(approval_events.c.at, approval_events.c.id)
        with self._read() as conn:
            return [
                AuditRow(
                    at=r.at,
                    event=r.kind,
                    approval_id=r.approval_id,
                    actor=r.actor,
                    note=r.note,
                    channel=r.channel or "",
                    draft_ts=r.draft_ts or "",
                    author_id=r.author_id,
                    review_no=r.review_no or 0,
                    text_hash=r.text_hash or "",
                    state=r.state or "",
                )
                for r in conn.execute(stmt)
            ]
