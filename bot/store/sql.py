"""The store on SQLAlchemy Core: one implementation for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    and_,
    case,
    create_engine,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from bot.store.approvals_sql import ApprovalSqlMixin
from bot.store.base import (
    ClaimedDraft,
    DraftChange,
    DraftState,
    FindingRecord,
    NewFinding,
    RuleStat,
)
from bot.store.follow_sql import FollowSqlMixin
from bot.store.migrations import migrate
from bot.store.schema import approvals, claim_postponed, claim_released, drafts, findings
from bot.store.time_sql import TimeSqlMixin


def create_store_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for url; SQLite gets WAL, a busy timeout and write-locking transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        return create_engine(url, pool_pre_ping=True, **kwargs)

    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook own transactions instead of the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front (IMMEDIATE), so two writers queue on busy_timeout
        # instead of one failing when it upgrades a read lock. Reads stay deferred.
        if conn.get_execution_options().get(_READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


_READ_ONLY = "social_review_read_only"
_BUSY_TIMEOUT_MS = 30_000


def _enable_wal(cursor: Any) -> None:
    """Switch the database file to WAL, waiting out another process's write transaction.

    Leaving rollback-journal mode needs an exclusive lock, and while another connection holds
    a write lock SQLite answers "database is locked" at once, without its busy handler: two
    replicas starting on a fresh file (one migrating, one connecting) hit exactly that. Retry
    for as long as the busy timeout would have waited.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def open_store(url: str, now: datetime, **engine_kwargs: Any) -> SqlStore:
    """Connect to url, bring its schema up to date and return the store."""
    store = SqlStore(create_store_engine(url, **engine_kwargs))
    store.migrate(now)
    return store


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


_PENDING = and_(drafts.c.revision > drafts.c.synced_revision)


def _claimable(now: datetime) -> Any:
    return and_(
        _PENDING,
        or_(drafts.c.claimed_until.is_(None), drafts.c.claimed_until < now),
        or_(drafts.c.next_attempt_at.is_(None), drafts.c.next_attempt_at <= now),
    )


def _draft_state(row: RowMapping) -> DraftState:
    return DraftState(
        id=row["id"],
        channel=row["channel"],
        ts=row["ts"],
        user_id=row["user_id"],
        revision=row["revision"],
        synced_revision=row["synced_revision"],
        review_no=row["review_no"],
        deleted=bool(row["deleted"]),
        reply_ts=row["reply_ts"],
        shown_verdict=row["shown_verdict"],
        attempts=row["attempts"],
        last_error=row["last_error"],
    )


def _finding_record(row: RowMapping) -> FindingRecord:
    return FindingRecord(
        id=row["id"],
        draft_id=row["draft_id"],
        review_no=row["review_no"],
        position=row["position"],
        rule_id=row["rule_id"],
        category=row["category"],
        severity=row["severity"],
        requires_approval=bool(row["requires_approval"]),
        excerpt=row["excerpt"],
        message=row["message"],
        suggestion=row["suggestion"],
        guideline=row["guideline"],
        confidence=row["confidence"],
        dismissed_by=row["dismissed_by"],
        dismissed_at=row["dismissed_at"],
    )


class SqlStore(FollowSqlMixin, ApprovalSqlMixin, TimeSqlMixin):
    """The Store contract on one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite's busy handler polls with sleeps of up to 100 ms; writers of this process
        # queue on a lock instead, which wakes them the moment the previous commit is done.
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn.execution_options(**{_READ_ONLY: True})

    def migrate(self, now: datetime) -> list[int]:
        """Apply pending schema migrations; return the versions applied."""
        with self._write() as conn:
            return migrate(conn, now)

    def ping(self) -> None:
        """Run a trivial query, raising if the database is unreachable."""
        with self._read() as conn:
            conn.exec_driver_sql("SELECT 1")

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # -- drafts ---------------------------------------------------------------------------

    def _insert_draft(
        self,
        conn: Connection,
        channel: str,
        ts: str,
        user_id: str | None,
        text_hash: str,
        edited_ts: str | None,
        new_findings: Sequence[NewFinding],
        now: datetime,
    ) -> DraftChange:
        stmt = (
            _insert(conn, drafts)
            .values(
                channel=channel,
                ts=ts,
                user_id=user_id,
                text_hash=text_hash,
                edited_ts=edited_ts,
                revision=1,
                synced_revision=0,
                review_no=1,
                deleted=False,
                attempts=0,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["channel", "ts"])
            .returning(drafts.c.id)
        )
        draft_id = conn.execute(stmt).scalar()
        if draft_id is None:
            existing = conn.execute(
                select(drafts.c.id).where(drafts.c.channel == channel, drafts.c.ts == ts)
            ).scalar_one()
            return DraftChange(existing, changed=False)
        self._insert_findings(conn, draft_id, 1, new_findings, now)
        return DraftChange(draft_id, changed=True)

    @staticmethod
    def _insert_findings(
        conn: Connection,
        draft_id: int,
        review_no: int,
        new_findings: Sequence[NewFinding],
        now: datetime,
    ) -> None:
        if not new_findings:
            return
        conn.execute(
            insert(findings),
            [
                {
                    "draft_id": draft_id,
                    "review_no": review_no,
                    "position": position,
                    "rule_id": f.rule_id,
                    "category": f.category,
                    "severity": f.severity,
                    "requires_approval": f.requires_approval,
                    "excerpt": f.excerpt,
                    "message": f.message,
                    "suggestion": f.suggestion,
                    "guideline": f.guideline,
                    "confidence": f.confidence,
                    "created_at": now,
                }
                for position, f in enumerate(new_findings)
            ],
        )

    def add_draft(
        self,
        channel: str,
        ts: str,
        user_id: str | None,
        text_hash: str,
        findings: Sequence[NewFinding],
        now: datetime,
    ) -> DraftChange:
        """Record a new draft once; a second delivery of the same draft changes nothing."""
        with self._write() as conn:
            return self._insert_draft(conn, channel, ts, user_id, text_hash, None, findings, now)

    def revise_draft(
        self,
        channel: str,
        ts: str,
        user_id: str | None,
        text_hash: str,
        edited_ts: str,
        findings: Sequence[NewFinding],
        now: datetime,
    ) -> DraftChange:
        """Record an edit if the text changed and it is newer than the last one seen."""
        stmt = (
            update(drafts)
            .where(
                drafts.c.channel == channel,
                drafts.c.ts == ts,
                drafts.c.text_hash != text_hash,
                drafts.c.deleted.is_(False),
                or_(drafts.c.edited_ts.is_(None), drafts.c.edited_ts < edited_ts),
            )
            .values(
                text_hash=text_hash,
                edited_ts=edited_ts,
                revision=drafts.c.revision + 1,
                review_no=drafts.c.review_no + 1,
                next_attempt_at=None,
                attempts=0,
                updated_at=now,
            )
            .returning(drafts.c.id, drafts.c.review_no)
        )
        with self._write() as conn:
            row = conn.execute(stmt).first()
            if row is None:
                # Unchanged, stale or deleted: the insert is a no-op. Never seen: it starts here.
                return self._insert_draft(
                    conn, channel, ts, user_id, text_hash, edited_ts, findings, now
                )
            self._insert_findings(conn, row.id, row.review_no, findings, now)
            return DraftChange(row.id, changed=True)

    def delete_draft(self, channel: str, ts: str, now: datetime) -> DraftChange:
        """Mark a draft deleted so its reply is taken down."""
        stmt = (
            update(drafts)
            .where(drafts.c.channel == channel, drafts.c.ts == ts, drafts.c.deleted.is_(False))
            .values(
                deleted=True,
                revision=drafts.c.revision + 1,
                next_attempt_at=None,
                attempts=0,
                updated_at=now,
            )
            .returning(drafts.c.id)
        )
        with self._write() as conn:
            draft_id = conn.execute(stmt).scalar()
        return DraftChange(draft_id, changed=draft_id is not None)

    def dismiss_finding(self, finding_id: int, user_id: str, now: datetime) -> DraftChange:
        """Record that user_id called a finding not a problem; the first click counts."""
        stmt = (
            update(findings)
            .where(findings.c.id == finding_id, findings.c.dismissed_by.is_(None))
            .values(dismissed_by=user_id, dismissed_at=now)
            .returning(findings.c.draft_id, findings.c.review_no)
        )
        with self._write() as conn:
            row = conn.execute(stmt).first()
            if row is None:
                draft_id = conn.execute(
                    select(findings.c.draft_id).where(findings.c.id == finding_id)
                ).scalar()
                return DraftChange(draft_id, changed=False)
            # Re-render only if the reply still shows this review.
            conn.execute(
                update(drafts)
                .where(drafts.c.id == row.draft_id, drafts.c.review_no == row.review_no)
                .values(
                    revision=drafts.c.revision + 1,
                    next_attempt_at=None,
                    updated_at=now,
                )
            )
            return DraftChange(row.draft_id, changed=True)

    def draft(self, channel: str, ts: str) -> DraftState | None:
        """Return the stored draft posted at channel/ts, if any."""
        with self._read() as conn:
            row = (
                conn.execute(select(drafts).where(drafts.c.channel == channel, drafts.c.ts == ts))
                .mappings()
                .first()
            )
        return None if row is None else _draft_state(row)

    def findings(self, draft_id: int, review_no: int) -> list[FindingRecord]:
        """Return the findings of one review of a draft, in the engine's order."""
        stmt = (
            select(findings)
            .where(findings.c.draft_id == draft_id, findings.c.review_no == review_no)
            .order_by(findings.c.position)
        )
        with self._read() as conn:
            return [_finding_record(r) for r in conn.execute(stmt).mappings()]

    def finding(self, finding_id: int) -> FindingRecord | None:
        """Return one stored finding."""
        with self._read() as conn:
            row = (
                conn.execute(select(findings).where(findings.c.id == finding_id)).mappings().first()
            )
        return None if row is None else _finding_record(row)

    # -- bringing Slack up to date ----------------------------------------------------------

    def claim(
        self, draft_id: int, token: str, now: datetime, until: datetime
    ) -> ClaimedDraft | None:
        """Take the right to bring Slack up to date for a draft that needs it, or return None."""
        stmt = (
            update(drafts)
            .where(drafts.c.id == draft_id, _claimable(now))
            .values(claim_token=token, claimed_until=until)
            .returning(*drafts.c)
        )
        with self._write() as conn:
            row = conn.execute(stmt).mappings().first()
            if row is None:
                return None
            state = _draft_state(row)
            found = conn.execute(
                select(findings)
                .where(findings.c.draft_id == draft_id, findings.c.review_no == state.review_no)
                .order_by(findings.c.position)
            ).mappings()
            return ClaimedDraft(state, tuple(_finding_record(r) for r in found))

    def finish(
        self,
        draft_id: int,
        token: str,
        revision: int,
        shown_verdict: str | None,
        reply_ts: str | None,
    ) -> bool:
        """Record that Slack now shows revision and give up the claim; True if more is pending."""
        stmt = (
            update(drafts)
            .where(drafts.c.id == draft_id, drafts.c.claim_token == token)
            .values(
                synced_revision=revision,
                shown_verdict=shown_verdict,
                reply_ts=reply_ts,
                **claim_released(),
            )
            .returning(drafts.c.revision)
        )
        with self._write() as conn:
            latest = conn.execute(stmt).scalar()
        return latest is not None and latest > revision

    def postpone(
        self, draft_id: int, token: str, retry_at: datetime, error: str, reply_ts: str | None
    ) -> None:
        """Give up the claim after a failed delivery, keeping any reply posted; retry later."""
        self._update_claimed(
            draft_id,
            token,
            reply_ts=reply_ts,
            **claim_postponed(drafts, retry_at, error),
        )

    def release(self, draft_id: int, token: str, reply_ts: str | None) -> None:
        """Give up the claim, keeping any reply posted, without recording progress."""
        self._update_claimed(
            draft_id, token, reply_ts=reply_ts, claim_token=None, claimed_until=None
        )

    def _update_claimed(self, draft_id: int, token: str, **values: Any) -> None:
        with self._write() as conn:
            conn.execute(
                update(drafts)
                .where(drafts.c.id == draft_id, drafts.c.claim_token == token)
                .values(**values)
            )

    def due(self, now: datetime, limit: int) -> list[int]:
        """Return drafts whose Slack reply is behind and may be retried now."""
        stmt = select(drafts.c.id).where(_claimable(now)).order_by(drafts.c.id).limit(limit)
        with self._read() as conn:
            return list(conn.execute(stmt).scalars())

    # -- retention ------------------------------------------------------------------------------

    def purge_draft_text(self, before: datetime) -> int:
        """Blank the draft text stored with drafts untouched since before; return copies blanked.

        Drafts are personal data. What quotes them goes (finding excerpts, the copy an approval
        request shows); the audit trail stays: rows, rule ids, verdicts, text hashes, votes and
        every approval event. A request still waiting for a decision keeps its text. Idempotent,
        so every replica may run it.
        """
        old_drafts = select(drafts.c.id).where(drafts.c.updated_at < before)
        with self._write() as conn:
            excerpts = conn.execute(
                update(findings)
                .where(findings.c.draft_id.in_(old_drafts), findings.c.excerpt != "")
                .values(excerpt="")
            ).rowcount
            texts = conn.execute(
                update(approvals)
                .where(
                    approvals.c.updated_at < before,
                    approvals.c.state != "pending",
                    approvals.c.text != "",
                )
                .values(text="")
            ).rowcount
        return excerpts + texts

    # -- statistics ---------------------------------------------------------------------------

    def rule_stats(self) -> list[RuleStat]:
        """Return hits, dismissals and last hit per rule that ever fired."""
        dismissed_draft = case((findings.c.dismissed_by.is_not(None), findings.c.draft_id))
        stmt = (
            select(
                findings.c.rule_id,
                func.count(func.distinct(findings.c.draft_id)).label("hits"),
                func.count(func.distinct(dismissed_draft)).label("dismissals"),
                func.max(findings.c.created_at).label("last_hit"),
            )
            .group_by(findings.c.rule_id)
            .order_by(findings.c.rule_id)
        )
        with self._read() as conn:
            return [
                RuleStat(r.rule_id, r.hits, r.dismissals, r.last_hit) for r in conn.execute(stmt)
            ]
