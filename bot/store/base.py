"""The storage contract the services depend on, and the records it hands back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class NewFinding:
    """A finding as the engine produced it, about to be stored with its draft."""

    rule_id: str
    category: str
    severity: str
    requires_approval: bool
    excerpt: str
    message: str
    suggestion: str | None
    guideline: str | None
    confidence: str


@dataclass(frozen=True, slots=True)
class FindingRecord:
    """A stored finding of one review of a draft, with who dismissed it, if anyone."""

    id: int
    draft_id: int
    review_no: int
    position: int
    rule_id: str
    category: str
    severity: str
    requires_approval: bool
    excerpt: str
    message: str
    suggestion: str | None
    guideline: str | None
    confidence: str
    dismissed_by: str | None
    dismissed_at: datetime | None


@dataclass(frozen=True, slots=True)
class DraftState:
    """A draft as stored: what Slack should show (revision) versus what it shows (synced)."""

    id: int
    channel: str
    ts: str
    user_id: str | None
    revision: int
    synced_revision: int
    review_no: int
    deleted: bool
    reply_ts: str | None
    shown_verdict: str | None
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class ClaimedDraft:
    """A draft claimed for syncing, with the findings of its current review."""

    state: DraftState
    findings: tuple[FindingRecord, ...]


@dataclass(frozen=True, slots=True)
class DraftChange:
    """The outcome of recording a draft event: which draft, and whether anything changed."""

    draft_id: int | None
    changed: bool


@dataclass(frozen=True, slots=True)
class RuleStat:
    """How often a rule fired on drafts and how often people called it a false alarm."""

    rule_id: str
    hits: int
    dismissals: int
    last_hit: datetime | None


@dataclass(frozen=True, slots=True)
class TimeEntry:
    """Minutes a person logged for social-media work on one local day."""

    id: int
    user_id: str
    day: date
    minutes: int
    note: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DraftActivity:
    """A reviewed draft as the time reports see it: who posted it, and when."""

    user_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReminderRecord:
    """The claim of one reminder on one local day: sent, or still owed."""

    name: str
    day: date
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    claimed: bool


class Store(Protocol):
    """What the services need from storage; racing changes are conditional in the store."""

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
        ...

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
        ...

    def delete_draft(self, channel: str, ts: str, now: datetime) -> DraftChange:
        """Mark a draft deleted so its reply is taken down."""
        ...

    def dismiss_finding(self, finding_id: int, user_id: str, now: datetime) -> DraftChange:
        """Record that user_id called a finding not a problem; the first click counts."""
        ...

    def draft(self, channel: str, ts: str) -> DraftState | None:
        """Return the stored draft posted at channel/ts, if any."""
        ...

    def findings(self, draft_id: int, review_no: int) -> list[FindingRecord]:
        """Return the findings of one review of a draft, in the engine's order."""
        ...

    def finding(self, finding_id: int) -> FindingRecord | None:
        """Return one stored finding."""
        ...

    def claim(
        self, draft_id: int, token: str, now: datetime, until: datetime
    ) -> ClaimedDraft | None:
        """Take the right to bring Slack up to date for a draft that needs it, or return None."""
        ...

    def finish(
        self,
        draft_id: int,
        token: str,
        revision: int,
        shown_verdict: str | None,
        reply_ts: str | None,
    ) -> bool:
        """Record that Slack now shows revision and give up the claim; True if more is pending."""
        ...

    def postpone(
        self, draft_id: int, token: str, retry_at: datetime, error: str, reply_ts: str | None
    ) -> None:
        """Give up the claim after a failed delivery, keeping any reply posted; retry later."""
        ...

    def release(self, draft_id: int, token: str, reply_ts: str | None) -> None:
        """Give up the claim, keeping any reply posted, without recording progress."""
        ...

    def due(self, now: datetime, limit: int) -> list[int]:
        """Return drafts whose Slack reply is behind and may be retried now."""
        ...

    def rule_stats(self) -> list[RuleStat]:
        """Return hits, dismissals and last hit per rule that ever fired."""
        ...

    def purge_draft_text(self, before: datetime) -> int:
        """Blank stored draft text of drafts untouched since before, keeping the audit trail."""
        ...


class TimeStore(Protocol):
    """What the time-budget services need: time logs, activity, and reminder claims."""

    def add_time(
        self, user_id: str, day: date, minutes: int, note: str | None, now: datetime
    ) -> TimeEntry:
        """Record minutes a person spent on social media on a local day."""
        ...

    def undo_time(self, user_id: str, now: datetime) -> TimeEntry | None:
        """Take back a person's latest entry; two undos at once take back one entry each."""
        ...

    def time_entries(self, first: date, last: date, user_id: str | None = None) -> list[TimeEntry]:
        """Return the entries still standing for local days first..last, oldest first."""
        ...

    def drafts_between(self, start: datetime, end: datetime) -> list[DraftActivity]:
        """Return who posted each draft reviewed in [start, end), and when."""
        ...

    def findings_by_category(self, start: datetime, end: datetime) -> dict[str, int]:
        """Count the findings of each draft's latest review, for drafts posted in [start, end)."""
        ...

    def claim_reminder(
        self, name: str, day: date, token: str, now: datetime, until: datetime
    ) -> bool:
        """Take the right to send a reminder for day: first claim, or one abandoned unsent."""
        ...

    def reminder_sent(self, name: str, day: date, token: str, now: datetime) -> bool:
        """Record that the claimed reminder went out; False if the claim was lost meanwhile."""
        ...

    def reminder_failed(
        self, name: str, day: date, token: str, retry_at: datetime, error: str
    ) -> bool:
        """Give the claim back after a failed send, to be retried from retry_at."""
        ...

    def reminder(self, name: str, day: date) -> ReminderRecord | None:
        """Return the claim record of one reminder on one day, if any."""
        ...


# -- approvals (issue 4) -------------------------------------------------------------------------

ApprovalState = Literal["pending", "approved", "rejected", "stale", "withdrawn", "expired"]
Outcome = Literal[
    "approved", "counted", "rejected", "already_voted", "closed", "stale", "not_found"
]


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """One approval request: bound to one review (the exact text) of one draft."""

    id: int
    draft_id: int
    review_no: int
    text: str
    text_hash: str
    channel: str
    draft_ts: str
    author_id: str | None
    required: int
    approve_count: int
    state: ApprovalState
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    remind_at: datetime | None
    expires_at: datetime | None
    reminders: int
    thread_msg_ts: str | None
    channel_msg: str | None
    shown_state: str | None
    revision: int
    synced_revision: int
    created_at: datetime
    voters: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NewApproval:
    """What to ask for when a review needs approval (the store fills in draft and review)."""

    text: str
    text_hash: str
    required: int
    remind_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class DecisionResult:
    """What one click did: decided, counted, or why nothing changed (with the current state)."""

    outcome: Outcome
    approval: ApprovalRecord | None


@dataclass(frozen=True, slots=True)
class ApprovalEvent:
    """One audit entry: a request, vote, decision, staleness, reminder, withdrawal or expiry."""

    id: int
    approval_id: int
    kind: str
    actor: str | None
    note: str | None
    at: datetime
    notice: bool
    notified_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClaimedApproval:
    """An approval claimed for bringing Slack up to date, with the notices still owed."""

    approval: ApprovalRecord
    notices: tuple[ApprovalEvent, ...]
    findings: tuple[FindingRecord, ...]


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit entry joined with the request it belongs to, for export."""

    at: datetime
    event: str
    approval_id: int | None  # None for a follow decision that needed no manager
    actor: str | None
    note: str | None
    channel: str
    draft_ts: str
    author_id: str | None
    review_no: int
    text_hash: str
    state: str


class ApprovalStore(Protocol):
    """Approval storage; every state change is a conditional update or a unique key."""

    def track_review(
        self, channel: str, ts: str, text_hash: str, request: NewApproval | None, now: datetime
    ) -> list[int]:
        """Supersede approvals of older reviews, open one for this review if asked; return ids."""
        ...

    def withdraw_approvals(self, channel: str, ts: str, now: datetime) -> list[int]:
        """Withdraw the pending requests of a deleted draft; return their ids."""
        ...

    def approval(self, approval_id: int) -> ApprovalRecord | None:
        """Return one approval with its voters."""
        ...

    def approve(
        self, approval_id: int, user_id: str, comment: str | None, now: datetime
    ) -> DecisionResult:
        """Count user_id's approval once; decide when enough approvals are in."""
        ...

    def reject(
        self, approval_id: int, user_id: str, reason: str | None, now: datetime
    ) -> DecisionResult:
        """Reject a pending request bound to the draft's current text."""
        ...

    def claim_approval(
        self, approval_id: int, token: str, now: datetime, until: datetime
    ) -> ClaimedApproval | None:
        """Take the right to bring Slack up to date for one approval, or return None."""
        ...

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
        ...

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
        ...

    def due_approvals(self, now: datetime, limit: int) -> list[int]:
        """Return approvals whose Slack messages are behind and may be retried now."""
        ...

    def approvals_of_draft(self, draft_id: int) -> list[int]:
        """Return the ids of every approval of a draft."""
        ...

    def remind_due(self, now: datetime, next_remind: datetime, limit: int) -> list[int]:
        """Re-announce pending requests whose reminder time has come; return their ids."""
        ...

    def expire_due(self, now: datetime, limit: int) -> list[int]:
        """Expire pending requests past their expiry; return their ids."""
        ...

    def pending_approvals(self, limit: int) -> list[ApprovalRecord]:
        """Return pending requests, oldest first."""
        ...

    def approvals_by_author(self, author_id: str, limit: int) -> list[ApprovalRecord]:
        """Return an author's latest requests, newest first."""
        ...

    def audit(self, since: datetime | None) -> list[AuditRow]:
        """Return every audit entry since an instant, oldest first."""
        ...
