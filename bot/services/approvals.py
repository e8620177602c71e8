"""Manager approval: open requests for drafts that need one, decide on clicks, remind, expire."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from bot.policy.approvers import ApprovalPolicy, ApproverDirectory
from bot.policy.time import TimeRules
from bot.services.review import DeliveryError, DraftReviewService, text_hash
from bot.store.base import ApprovalRecord, FindingRecord, NewApproval

log = logging.getLogger(__name__)

ClickOutcome = Literal[
    "approved",
    "counted",
    "rejected",
    "already_voted",
    "closed",
    "stale",
    "not_found",
    "not_approver",
    "own_draft",
]
SUCCESS: frozenset[str] = frozenset({"approved", "counted", "rejected"})


@dataclass(frozen=True, slots=True)
class ClickResult:
    """What a click on Approve / Reject did, with the request as it stands now."""

    outcome: ClickOutcome
    approval: ApprovalRecord | None
    locale: str

    @property
    def ok(self) -> bool:
        """Return True when the click changed something."""
        return self.outcome in SUCCESS


@dataclass(frozen=True, slots=True)
class RequestView:
    """What an approval request message should show."""

    approval: ApprovalRecord
    reasons: tuple[FindingRecord, ...]
    approver_ids: tuple[str, ...]
    usergroup: str | None
    mention: bool
    locale: str


@dataclass(frozen=True, slots=True)
class NoticeView:
    """A short message about a request: decided, stale, re-announced or expired."""

    kind: str
    actor: str | None
    note: str | None
    approval: ApprovalRecord
    approver_ids: tuple[str, ...]
    usergroup: str | None
    request_link: str | None
    locale: str


@dataclass(frozen=True, slots=True)
class HomeView:
    """The App Home tab of one user: requests waiting for them and their own drafts."""

    user_id: str
    is_approver: bool
    waiting: tuple[ApprovalRecord, ...]
    mine: tuple[ApprovalRecord, ...]
    locale: str
    banner: str | None = None


class ApprovalPublisher(Protocol):
    """Where requests and notices go (Slack, or a recorder in tests); raises DeliveryError."""

    def post_request(self, view: RequestView, channel: str, thread_ts: str | None) -> str:
        """Post a request and return its ts."""
        ...

    def update_request(self, view: RequestView, channel: str, ts: str) -> bool:
        """Rewrite a request in place; return False if it no longer exists."""
        ...

    def post_notice(self, view: NoticeView, channel: str, thread_ts: str | None) -> None:
        """Post a notice (in a thread when thread_ts is given)."""
        ...

    def mark_state(self, channel: str, ts: str, old: str | None, new: str) -> None:
        """Show the request's state as a reaction on the draft."""
        ...

    def link(self, channel: str, ts: str) -> str:
        """Return a link to a message."""
        ...


@dataclass
class _Progress:
    thread_ts: str | None
    channel_msg: str | None
    notified: list[int] = field(default_factory=list)


def _channel_msg(value: str | None) -> tuple[str, str] | None:
    if not value or ":" not in value:
        return None
    channel, ts = value.split(":", 1)
    return channel, ts


@dataclass
class ApprovalService:
    """Requests follow their drafts; clicks are checked here and decided by the store."""

    store: Any  # Store and ApprovalStore
    drafts: DraftReviewService
    directory: ApproverDirectory
    publisher: ApprovalPublisher
    clock: Callable[[], datetime]
    bot_user_ids: frozenset[str] = frozenset()
    # Working hours on the company calendar; the wiring passes the rules.yaml `time:` policy.
    hours_after: Callable[[datetime, float], datetime] = field(
        default_factory=lambda: TimeRules().working_hours_after
    )
    claim_seconds: float = 120.0
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 900.0
    # Told of every decided request (approved or rejected), e.g. to measure approval latency.
    on_decided: Callable[[ApprovalRecord], None] | None = None

    @property
    def policy(self) -> ApprovalPolicy | None:
        """Return the `approvals:` section of the rules file, if any."""
        return self.directory.policy

    @property
    def locale(self) -> str:
        """Return the language of user-facing text."""
        return self.drafts.locale

    # -- drafts come, change and go ---------------------------------------------------------------

    def receive(self, channel: str, ts: str, user_id: str | None, text: str) -> int:
        """Record and review a new draft, and open an approval request if it needs one."""
        draft_id = self.drafts.receive(channel, ts, user_id, text)
        self._track(channel, ts, text)
        return draft_id

    def revise(
        self, channel: str, ts: str, user_id: str | None, text: str, edited_ts: str
    ) -> int | None:
        """Re-review an edited draft; approvals of the old text become stale."""
        draft_id = self.drafts.revise(channel, ts, user_id, text, edited_ts)
        if draft_id is not None:
            self._track(channel, ts, text)
        return draft_id

    def remove(self, channel: str, ts: str) -> int | None:
        """Note a deleted draft and withdraw its pending requests."""
        draft_id = self.drafts.remove(channel, ts)
        self.store.withdraw_approvals(channel, ts, self.clock())
        return draft_id

    def _track(self, channel: str, ts: str, text: str) -> list[int]:
        now = self.clock()
        request = None
        if self.policy is not None:
            request = NewApproval(
                text=text,
                text_hash=text_hash(text),
                required=self.policy.required,
                remind_at=self.hours_after(now, self.policy.remind_after_working_hours),
                expires_at=now + timedelta(hours=self.policy.expire_after_hours),
            )
        return self.store.track_review(channel, ts, text_hash(text), request, now)

    # -- clicks --------------------------------------------------------------------------------------

    def precheck(self, approval_id: int, user_id: str) -> ClickResult | None:
        """Return why user_id may not decide this request, or None if they may (before a modal)."""
        approval = self.store.approval(approval_id)
        if approval is None:
            return ClickResult("not_found", None, self.locale)
        if approval.author_id is not None and approval.author_id == user_id:
            return ClickResult("own_draft", approval, self.locale)
        if user_id in self.bot_user_ids or user_id not in self.directory.current():
            return ClickResult("not_approver", approval, self.locale)
        if approval.state != "pending":
            outcome: ClickOutcome = "stale" if approval.state == "stale" else "closed"
            return ClickResult(outcome, approval, self.locale)
        if user_id in approval.voters:
            return ClickResult("already_voted", approval, self.locale)
        return None

    def approve(self, approval_id: int, user_id: str, comment: str | None = None) -> ClickResult:
        """Count an approver's approval (the request is decided when enough are in)."""
        refused = self._authorize(approval_id, user_id)
        if refused is not None:
            return refused
        result = self.store.approve(approval_id, user_id, _clean(comment), self.clock())
        self._decided(result.outcome, result.approval)
        return ClickResult(result.outcome, result.approval, self.locale)

    def reject(self, approval_id: int, user_id: str, reason: str | None = None) -> ClickResult:
        """Reject a request with an optional reason."""
        refused = self._authorize(approval_id, user_id)
        if refused is not None:
            return refused
        result = self.store.reject(approval_id, user_id, _clean(reason), self.clock())
        self._decided(result.outcome, result.approval)
        return ClickResult(result.outcome, result.approval, self.locale)

    def _decided(self, outcome: str, approval: ApprovalRecord | None) -> None:
        if (
            self.on_decided is not None
            and approval is not None
            and outcome in ("approved", "rejected")
        ):
            self.on_decided(approval)

    def _authorize(self, approval_id: int, user_id: str) -> ClickResult | None:
        # Who may decide is checked here; whether the request is still open is the store's
        # conditional update, so racing clicks cannot both win.
        refused = self.precheck(approval_id, user_id)
        if refused is not None and refused.outcome in ("not_found", "not_approver", "own_draft"):
            return refused
        return None

    def member_changes(self, usergroup: str) -> None:
        """Forget the cached members of a user group that changed."""
        self.directory.invalidate(usergroup)

    # -- App Home -------------------------------------------------------------------------------------

    def home(self, user_id: str, banner: str | None = None) -> HomeView:
        """Return what the App Home tab shows user_id."""
        is_approver = user_id not in self.bot_user_ids and user_id in self.directory.current()
        waiting: tuple[ApprovalRecord, ...] = ()
        if is_approver:
            waiting = tuple(
                a
                for a in self.store.pending_approvals(limit=20)
                if a.author_id != user_id and user_id not in a.voters
            )
        mine = tuple(self.store.approvals_by_author(user_id, limit=10))
        return HomeView(user_id, is_approver, waiting, mine, self.locale, banner)

    # -- time passing ------------------------------------------------------------------------------------

    def sweep(self, now: datetime | None = None) -> list[int]:
        """Expire overdue requests and re-announce waiting ones; return the ids touched."""
        if self.policy is None:
            return []
        now = now or self.clock()
        expired = self.store.expire_due(now, limit=100)
        next_remind = self.hours_after(now, self.policy.remind_after_working_hours)
        reminded = self.store.remind_due(now, next_remind, limit=100)
        touched = [*expired, *reminded]
        for approval_id in touched:
            self.sync(approval_id)
        return touched

    def background(self) -> int:
        """Run one round of background work: sweep, then retry requests Slack has not taken."""
        self.sweep()
        return self.retry_due()

    def retry_due(self, limit: int = 50) -> int:
        """Sync every request whose Slack messages are behind and due; return how many."""
        due = self.store.due_approvals(self.clock(), limit)
        for approval_id in due:
            self.sync(approval_id)
        return len(due)

    # -- bringing Slack up to date -----------------------------------------------------------------------

    def sync_draft(self, draft_id: int) -> None:
        """Bring every request of a draft up to date in Slack."""
        for approval_id in self.store.approvals_of_draft(draft_id):
            self.sync(approval_id)

    def sync(self, approval_id: int) -> None:
        """Make Slack show the latest state of one request, unless another worker is on it."""
        token = uuid.uuid4().hex
        while True:
            now = self.clock()
            claimed = self.store.claim_approval(
                approval_id, token, now, now + timedelta(seconds=self.claim_seconds)
            )
            if claimed is None:
                return
            approval = claimed.approval
            progress = _Progress(approval.thread_msg_ts, approval.channel_msg)
            try:
                self._publish(approval, claimed.findings, claimed.notices, progress)
            except DeliveryError as err:
                delay = min(
                    self.retry_cap_seconds,
                    self.retry_base_seconds * 2 ** min(approval.revision, 20),
                )
                retry_at = self.clock() + timedelta(seconds=delay)
                log.warning("approval %s not delivered (%s); retrying", approval_id, err)
                self.store.postpone_approval(
                    approval_id,
                    token,
                    retry_at,
                    str(err),
                    progress.thread_ts,
                    progress.channel_msg,
                    progress.notified,
                    self.clock(),
                )
                return
            more = self.store.finish_approval(
                approval_id,
                token,
                approval.revision,
                progress.thread_ts,
                progress.channel_msg,
                approval.state,
                progress.notified,
                self.clock(),
            )
            if not more:
                return

    def _publish(
        self,
        approval: ApprovalRecord,
        found: Sequence[FindingRecord],
        notices: Sequence[Any],
        progress: _Progress,
    ) -> None:
        policy = self.policy
        approvers = self.directory.current()
        listed = tuple(sorted(policy.approvers)) if policy else tuple(sorted(approvers.users))
        group = policy.usergroup if policy else None
        reasons = tuple(f for f in found if f.requires_approval)
        where = policy.post_to if policy else "thread"
        deleted = approval.state == "withdrawn"

        def view(mention: bool) -> RequestView:
            return RequestView(approval, reasons, listed, group, mention, self.locale)

        was_shown = progress.thread_ts is not None or progress.channel_msg is not None
        if where in ("thread", "both") and not deleted:
            if progress.thread_ts is None:
                if approval.state == "pending":
                    progress.thread_ts = self.publisher.post_request(
                        view(True), approval.channel, approval.draft_ts
                    )
            elif not self.publisher.update_request(
                view(True), approval.channel, progress.thread_ts
            ):
                progress.thread_ts = None
        if where in ("channel", "both") and policy is not None and policy.channel:
            located = _channel_msg(progress.channel_msg)
            if located is None:
                if approval.state == "pending":
                    ts = self.publisher.post_request(view(False), policy.channel, None)
                    progress.channel_msg = f"{policy.channel}:{ts}"
            elif not self.publisher.update_request(view(False), *located):
                progress.channel_msg = None
        if deleted and progress.thread_ts is not None:
            # The thread may be gone with its draft: try, and forget the message either way.
            self.publisher.update_request(view(False), approval.channel, progress.thread_ts)

        if not deleted and approval.shown_state != approval.state:
            self.publisher.mark_state(
                approval.channel, approval.draft_ts, approval.shown_state, approval.state
            )

        located = _channel_msg(progress.channel_msg)
        link = self.publisher.link(*located) if located else None
        for notice in notices:
            if was_shown and not deleted:
                note = NoticeView(
                    notice.kind,
                    notice.actor,
                    notice.note,
                    approval,
                    listed,
                    group,
                    link,
                    self.locale,
                )
                if where in ("thread", "both") or notice.kind not in ("reminded",):
                    self.publisher.post_notice(note, approval.channel, approval.draft_ts)
                if (
                    located is not None
                    and notice.kind in ("reminded", "expired")
                    and policy is not None
                ):
                    self.publisher.post_notice(note, located[0], None)
            progress.notified.append(notice.id)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text[:2000] or None
