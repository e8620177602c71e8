"""Review drafts and keep the bot's reply in step with each draft, retrying until Slack has it."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.policy.time import TimeRules, policy_notes
from bot.rules.types import Finding, Review, Verdict
from bot.store.base import DraftState, FindingRecord, NewFinding, RuleStat, Store

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A Slack call still failed after the SDK's own retries; the reply will be retried later."""


class Reviewer(Protocol):
    """The rules engine as the services use it."""

    locale: str

    def review(self, text: str) -> Review:
        """Return the findings for one draft."""
        ...


@dataclass(frozen=True, slots=True)
class ReplyView:
    """What the bot's reply to one draft should say."""

    channel: str
    draft_ts: str
    verdict: Verdict
    findings: tuple[FindingRecord, ...]
    locale: str


class Publisher(Protocol):
    """Where replies go (Slack in production, a recorder in tests); raises DeliveryError."""

    def post_reply(self, view: ReplyView) -> str:
        """Post the reply in the draft's thread and return its ts."""
        ...

    def update_reply(self, reply_ts: str, view: ReplyView) -> bool:
        """Rewrite an earlier reply; return False if that reply no longer exists."""
        ...

    def delete_reply(self, channel: str, reply_ts: str) -> None:
        """Take a reply down (a reply that is already gone is fine)."""
        ...

    def mark(self, channel: str, ts: str, old: Verdict | None, new: Verdict) -> None:
        """Show the verdict on the draft itself (a reaction), replacing the old one."""
        ...


_VERDICTS = ("ok", "warn", "approval", "block")


def text_hash(text: str) -> str:
    """Return the fingerprint used to tell a real edit from a re-delivery or a link preview."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def effective_verdict(findings: Sequence[FindingRecord]) -> Verdict:
    """Return the verdict once dismissed findings are set aside.

    Dismissing is feedback on a rule, not a sign-off: a finding that needs a manager's approval
    keeps the draft at "approval" even when dismissed.
    """
    live = [f for f in findings if f.dismissed_by is None]
    if any(f.severity == "error" for f in live):
        return "block"
    if any(f.requires_approval for f in findings):
        return "approval"
    if any(f.severity == "warning" for f in live):
        return "warn"
    return "ok"


@dataclass
class _Progress:
    """What a sync has already changed in Slack, saved even when a later step fails."""

    reply_ts: str | None


def _new_findings(review: Review) -> list[NewFinding]:
    return [
        NewFinding(
            rule_id=f.rule_id,
            category=f.category,
            severity=f.severity,
            requires_approval=f.requires_approval,
            excerpt=f.excerpt,
            message=f.message,
            suggestion=f.suggestion,
            guideline=f.guideline,
            confidence=f.confidence,
        )
        for f in review.findings
    ]


def _posted_at(ts: str) -> datetime | None:
    """Return when Slack says a message was posted (its ts is Unix seconds)."""
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (ValueError, OverflowError, OSError):
        return None


@dataclass
class DraftReviewService:
    """Record drafts, edits, deletions and dismissals, and bring the bot's replies up to date."""

    store: Store
    rules: Reviewer
    publisher: Publisher
    clock: Callable[[], datetime]
    claim_seconds: float = 120.0
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 900.0
    time_rules: TimeRules | None = None  # adds the after-hours and sensitive-date findings
    # Adds the follow-policy findings for a draft that announces a follow (issue 6).
    follow_check: Callable[[str], tuple[Finding, ...]] | None = None

    @property
    def locale(self) -> str:
        """Return the language of user-facing text (the rules file's locale)."""
        return self.rules.locale

    def _review(self, text: str, posted_at: datetime | None = None) -> Review:
        # The rules engine has no clock: findings about *when* a draft is posted are added here.
        review = self.rules.review(text)
        if self.follow_check is not None:
            review = Review(review.text, review.findings + self.follow_check(text))
        if self.time_rules is None:
            return review
        notes = policy_notes(self.time_rules, posted_at or self.clock(), self.locale)
        extra = tuple(
            Finding(
                rule_id=n.rule_id,
                category=n.category,
                severity=n.severity,
                requires_approval=False,
                start=0,
                end=0,
                excerpt=n.excerpt,
                message=n.message,
                suggestion=n.suggestion,
                guideline=n.guideline,
            )
            for n in notes
        )
        return Review(review.text, review.findings + extra)

    def check(self, text: str) -> Review:
        """Review a draft without recording it (private checks)."""
        return self._review(text)

    def receive(self, channel: str, ts: str, user_id: str | None, text: str) -> int:
        """Record a new draft (once, however often Slack delivers it); return its id to sync."""
        review = self._review(text, _posted_at(ts))
        change = self.store.add_draft(
            channel, ts, user_id, text_hash(text), _new_findings(review), self.clock()
        )
        assert change.draft_id is not None  # add_draft always names the draft
        return change.draft_id

    def revise(
        self, channel: str, ts: str, user_id: str | None, text: str, edited_ts: str
    ) -> int | None:
        """Re-review an edited draft; return its id if the reply must change."""
        review = self._review(text, _posted_at(ts))
        change = self.store.revise_draft(
            channel, ts, user_id, text_hash(text), edited_ts, _new_findings(review), self.clock()
        )
        return change.draft_id if change.changed else None

    def remove(self, channel: str, ts: str) -> int | None:
        """Note that a draft was deleted; return its id if a reply must come down."""
        return self.store.delete_draft(channel, ts, self.clock()).draft_id

    def dismiss(self, finding_id: int, user_id: str) -> int | None:
        """Record that a person called a finding not a problem; return the draft id to sync."""
        change = self.store.dismiss_finding(finding_id, user_id, self.clock())
        return change.draft_id if change.changed else None

    def sync(self, draft_id: int) -> None:
        """Make Slack show the latest state of a draft, unless another worker is already on it."""
        token = uuid.uuid4().hex
        while True:
            now = self.clock()
            claimed = self.store.claim(
                draft_id, token, now, now + timedelta(seconds=self.claim_seconds)
            )
            if claimed is None:
                return  # up to date, claimed elsewhere, or waiting for its retry time
            state = claimed.state
            progress = _Progress(state.reply_ts)
            try:
                shown = self._publish(state, claimed.findings, progress)
            except DeliveryError as err:
                delay = min(
                    self.retry_cap_seconds, self.retry_base_seconds * 2 ** min(state.attempts, 20)
                )
                retry_at = self.clock() + timedelta(seconds=delay)
                log.warning(
                    "reply for draft %s/%s not delivered (%s); retrying at %s",
                    state.channel,
                    state.ts,
                    err,
                    retry_at.isoformat(),
                )
                self.store.postpone(draft_id, token, retry_at, str(err), progress.reply_ts)
                return
            except BaseException:
                self.store.release(draft_id, token, progress.reply_ts)
                raise
            if not self.store.finish(draft_id, token, state.revision, shown, progress.reply_ts):
                return

    def _publish(
        self, state: DraftState, found: tuple[FindingRecord, ...], progress: _Progress
    ) -> Verdict | None:
        if state.deleted:
            if state.reply_ts is not None:
                self.publisher.delete_reply(state.channel, state.reply_ts)
                progress.reply_ts = None
            return None
        view = ReplyView(state.channel, state.ts, effective_verdict(found), found, self.locale)
        if state.reply_ts is None or not self.publisher.update_reply(state.reply_ts, view):
            # Kept even if a later step fails, so a retry updates instead of re-posting.
            progress.reply_ts = self.publisher.post_reply(view)
        if state.shown_verdict != view.verdict:
            old = state.shown_verdict if state.shown_verdict in _VERDICTS else None
            self.publisher.mark(state.channel, state.ts, old, view.verdict)  # type: ignore[arg-type]
        return view.verdict

    def retry_due(self, limit: int = 50) -> int:
        """Sync every draft whose reply is behind and due; return how many were tried."""
        due = self.store.due(self.clock(), limit)
        for draft_id in due:
            self.sync(draft_id)
        return len(due)

    def rule_stats(self) -> list[RuleStat]:
        """Return hits, dismissals and last hit per rule."""
        return self.store.rule_stats()
