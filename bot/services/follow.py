"""Follow policy assistant: answer /social-follow, route "ask a manager" through approvals."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from bot import i18n
from bot.policy.follow import (
    FOLLOW_MANAGER_RULE,
    FollowDecision,
    FollowPolicy,
    Recorded,
    decide,
    follow_notes,
    follow_text,
    handles_in,
)
from bot.rules.types import Finding
from bot.services.approvals import ApprovalService
from bot.services.review import DeliveryError, text_hash
from bot.store.base import NewApproval, NewFinding

log = logging.getLogger(__name__)

RequestOutcome = Literal["opened", "no_approvers", "no_channel", "not_delivered"]


@dataclass(frozen=True, slots=True)
class FollowRequestView:
    """The message that asks the managers about one account (approvals follow in its thread)."""

    decision: FollowDecision
    user_id: str
    text: str
    locale: str


class FollowPublisher(Protocol):
    """Where follow requests are posted (Slack, or a recorder in tests); raises DeliveryError."""

    def post_follow_request(self, view: FollowRequestView, channel: str) -> str:
        """Post the request message in channel and return its ts."""
        ...


@dataclass(frozen=True, slots=True)
class FollowAnswer:
    """What /social-follow answered, and for "ask a manager" what became of the request."""

    decision: FollowDecision
    locale: str
    request: RequestOutcome | None = None
    approval_id: int | None = None
    channel: str | None = None
    request_ts: str | None = None


def request_text(decision: FollowDecision, locale: str) -> str:
    """Return the text the managers decide on (quoted in the approval request)."""
    key = "request_followed" if decision.followed_us else "request"
    return _text(locale, key, handle=decision.handle, kind=decision.kind_label)


_TEXT = {
    "request": {
        "ja": "@{handle} をフォローしてよいですか？（種類: {kind}、相手からのフォロー: なし）",
        "en": "May we follow @{handle}? (kind: {kind}; they don't follow us)",
    },
    "request_followed": {
        "ja": "@{handle} をフォローバックしてよいですか？（種類: {kind}、相手からのフォロー: あり）",
        "en": "May we follow @{handle} back? (kind: {kind}; they follow us)",
    },
}


def _text(locale: str, key: str, **kwargs: Any) -> str:
    return i18n.text(_TEXT, locale, key, **kwargs)


@dataclass
class FollowService:
    """Decide per the `follow:` policy, record every answer, and open manager requests."""

    policy: FollowPolicy | None
    store: Any  # Store, ApprovalStore and the follow half of SqlStore
    approvals: ApprovalService | None
    publisher: FollowPublisher
    clock: Callable[[], datetime]
    locale: str
    channels: frozenset[str] = frozenset()

    def kinds(self) -> list[tuple[str, str]]:
        """Return (kind id, label) of every kind the policy lists, in its order."""
        if self.policy is None:
            return []
        return [(k.kind, k.label(self.locale)) for k in self.policy.kinds]

    def preview(self, handle: str, kind: str, followed_us: bool) -> FollowDecision:
        """Return the decision without recording it."""
        assert self.policy is not None
        return decide(self.policy, handle, kind, followed_us, self.locale)

    def answer(
        self, handle: str, kind: str, followed_us: bool, user_id: str, channel: str | None
    ) -> FollowAnswer:
        """Decide for one account and record it; "ask a manager" opens an approval request."""
        decision = self.preview(handle, kind, followed_us)
        answer = FollowAnswer(decision, self.locale)
        if decision.needs_manager:
            answer = self._ask_manager(decision, user_id, channel)
        now = self.clock()  # after the request, so the audit reads request → decision
        self.store.record_follow(
            handle=decision.handle,
            kind=decision.kind,
            followed_us=decision.followed_us,
            action=decision.action,
            outcome=decision.outcome,
            reason=decision.reason,
            user_id=user_id,
            channel=answer.channel or channel,
            request_ts=answer.request_ts,
            approval_id=answer.approval_id,
            now=now,
        )
        return answer

    def _request_channel(self, channel: str | None) -> str | None:
        # The request goes where managers already look: the review channel the command came
        # from, else the first review channel.
        if channel in self.channels:
            return channel
        return min(self.channels) if self.channels else None

    def _ask_manager(
        self, decision: FollowDecision, user_id: str, channel: str | None
    ) -> FollowAnswer:
        approvals = self.approvals
        if approvals is None or approvals.policy is None:
            return FollowAnswer(decision, self.locale, "no_approvers")
        where = self._request_channel(channel)
        if where is None:
            return FollowAnswer(decision, self.locale, "no_channel")
        text = request_text(decision, self.locale)
        view = FollowRequestView(decision, user_id, text, self.locale)
        try:
            ts = self.publisher.post_follow_request(view, where)
        except DeliveryError as err:
            log.warning("follow request for @%s not posted: %s", decision.handle, err)
            return FollowAnswer(decision, self.locale, "not_delivered", channel=where)
        approval_id = self._open_approval(decision, user_id, where, ts, text)
        return FollowAnswer(decision, self.locale, "opened", approval_id, where, ts)

    def _open_approval(
        self, decision: FollowDecision, user_id: str, channel: str, ts: str, text: str
    ) -> int | None:
        # The request message is recorded as a draft by its author, with one finding that
        # needs approval: the approval flow (approvers, buttons, reminders, expiry, audit) then
        # treats it exactly like a collaboration draft.
        assert self.approvals is not None and self.approvals.policy is not None
        policy = self.approvals.policy
        now = self.clock()
        finding = NewFinding(
            rule_id=FOLLOW_MANAGER_RULE,
            category="policy",
            severity="warning",
            requires_approval=True,
            excerpt=f"@{decision.handle}",
            message=follow_text(
                self.locale,
                "ask_manager",
                handle=decision.handle,
                kind=decision.kind_label,
                reason=decision.reason,
            ),
            suggestion=None,
            guideline="G8",
            confidence="high",
        )
        digest = text_hash(text)
        change = self.store.add_draft(channel, ts, user_id, digest, [finding], now)
        draft_id = change.draft_id
        # The request message itself is the bot's answer: mark the draft shown, so no review
        # reply is added to the thread next to the approval request.
        token = uuid.uuid4().hex
        claimed = self.store.claim(draft_id, token, now, now + timedelta(seconds=60))
        if claimed is not None:
            self.store.finish(draft_id, token, claimed.state.revision, "approval", None)
        request = NewApproval(
            text=text,
            text_hash=digest,
            required=policy.required,
            remind_at=self.approvals.hours_after(now, policy.remind_after_working_hours),
            expires_at=now + timedelta(hours=policy.expire_after_hours),
        )
        touched = self.store.track_review(channel, ts, digest, request, now)
        return touched[-1] if touched else None

    # -- drafts that announce a follow -------------------------------------------------------------

    def draft_findings(self, text: str) -> tuple[Finding, ...]:
        """Return the follow-policy findings for a draft (for the review service)."""
        if self.policy is None:
            return ()
        handles = handles_in(text)
        latest = self.store.latest_follows(handles) if handles else {}
        recorded = {h: Recorded(r.kind, r.followed_us, r.approval_state) for h, r in latest.items()}
        notes = follow_notes(text, self.policy, recorded, self.locale)
        return tuple(
            Finding(
                rule_id=n.rule_id,
                category=n.category,
                severity=n.severity,
                requires_approval=n.requires_approval,
                start=0,
                end=0,
                excerpt=n.excerpt,
                message=n.message,
                suggestion=n.suggestion,
                guideline=n.guideline,
            )
            for n in notes
        )
