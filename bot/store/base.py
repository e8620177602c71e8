"""The storage contract the services depend on, and the records it hands back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


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
