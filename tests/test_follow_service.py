"""The follow assistant as a service, on SQLite and PostgreSQL, with publishers that record."""

from __future__ import annotations

from dataclasses import dataclass, field

from test_approvals import BOSS, make
from test_follow_policy import DEFAULT_FOLLOW, HEAD

from bot.policy.follow import FOLLOW_MANAGER_RULE, FOLLOW_NOT_ALLOWED_RULE, FOLLOW_UNCHECKED_RULE
from bot.rules import load_rules_text
from bot.services.follow import FollowRequestView, FollowService
from bot.services.review import DeliveryError

CHANNEL = "CREVIEW"  # the approvals tests' channel
USER = "UALICE"
POLICY = load_rules_text(HEAD + DEFAULT_FOLLOW).model.follow


@dataclass
class RecordingFollow:
    """Keeps the follow requests the service posted (or refuses them, like Slack down)."""

    posted: list[tuple[str, FollowRequestView]] = field(default_factory=list)
    down: bool = False

    def post_follow_request(self, view: FollowRequestView, channel: str) -> str:
        if self.down:
            raise DeliveryError("chat.postMessage: ratelimited")
        self.posted.append((channel, view))
        return f"9.{len(self.posted):06d}"


def make_follow(store, clock, with_approvals: bool = True):
    approvals, slack = make(store, clock)
    publisher = RecordingFollow()
    service = FollowService(
        policy=POLICY,
        store=store,
        approvals=approvals if with_approvals else None,
        publisher=publisher,
        clock=clock,
        locale="ja",
        channels=frozenset({CHANNEL}),
    )
    approvals.drafts.follow_check = service.draft_findings
    return service, approvals, publisher, slack


def follow_rows(store):
    return [(r.event, r.actor, r.state) for r in store.audit(None) if r.event == "follow_decision"]


def test_a_competitor_may_be_followed_and_the_answer_is_audited(store, clock):
    service, _, publisher, _ = make_follow(store, clock)
    answer = service.answer("rival", "competitor", False, USER, CHANNEL)
    assert answer.decision.outcome == "follow" and answer.request is None
    assert publisher.posted == []
    assert follow_rows(store) == [("follow_decision", USER, "follow")]
    (row,) = [r for r in store.audit(None) if r.event == "follow_decision"]
    assert row.approval_id is None and "@rival kind=competitor" in (row.note or "")


def test_each_outcome_is_recorded_with_its_reason(store, clock):
    service, *_ = make_follow(store, clock)
    service.answer("fan", "customer", False, USER, CHANNEL)
    service.answer("fan2", "customer", True, USER, CHANNEL)
    service.answer("troll", "anonymous_hostile", True, USER, CHANNEL)
    assert [s for *_, s in follow_rows(store)] == ["wait_for_them", "follow_back", "do_not_follow"]
    assert store.latest_follows(["troll"])["troll"].reason.startswith("攻撃的な匿名")


def test_ask_a_manager_opens_a_request_the_approvers_decide(store, clock):
    service, approvals, publisher, slack = make_follow(store, clock)
    answer = service.answer("party", "political_religious", False, USER, CHANNEL)
    assert answer.request == "opened" and answer.approval_id is not None
    ((channel, view),) = publisher.posted
    assert channel == CHANNEL and "@party" in view.text and "政治" in view.text
    approvals.sync(answer.approval_id)
    ((where, request),) = slack.requests.items()
    assert where[0] == CHANNEL and request.approval.author_id == USER
    assert [r.rule_id for r in request.reasons] == [FOLLOW_MANAGER_RULE]
    # The request message is the bot's answer: no review reply joins the thread.
    assert approvals.drafts.publisher.replies == {}
    assert approvals.approve(answer.approval_id, USER).outcome == "own_draft"
    clock.advance(60)
    assert approvals.approve(answer.approval_id, BOSS).outcome == "approved"
    events = [(r.event, r.state) for r in store.audit(None)]
    assert events == [
        ("requested", "approved"),
        ("follow_decision", "ask_manager"),
        ("approve", "approved"),
        ("approved", "approved"),
    ]
    assert store.latest_follows(["party"])["party"].approval_state == "approved"


def test_ask_a_manager_without_approvers_says_so(store, clock):
    service, *_ = make_follow(store, clock, with_approvals=False)
    answer = service.answer("x", "unknown", False, USER, CHANNEL)
    assert answer.request == "no_approvers" and answer.approval_id is None
    assert follow_rows(store) == [("follow_decision", USER, "ask_manager")]


def test_ask_a_manager_from_another_channel_goes_to_the_review_channel(store, clock):
    service, _, publisher, _ = make_follow(store, clock)
    answer = service.answer("x", "unknown", False, USER, "DPRIVATE1")
    assert answer.channel == CHANNEL and publisher.posted[0][0] == CHANNEL


def test_ask_a_manager_while_slack_is_down_asks_to_try_again(store, clock):
    service, _, publisher, _ = make_follow(store, clock)
    publisher.down = True
    answer = service.answer("x", "unknown", False, USER, CHANNEL)
    assert answer.request == "not_delivered" and answer.approval_id is None


def test_a_draft_following_a_blocked_account_is_warned(store, clock):
    service, approvals, *_ = make_follow(store, clock)
    service.answer("troll", "anonymous_hostile", True, USER, CHANNEL)
    review = approvals.drafts.check("@troll さんをフォローバックしました")
    assert [f.rule_id for f in review.findings] == [FOLLOW_NOT_ALLOWED_RULE]


def test_a_draft_following_an_unchecked_account_gets_a_pointer(store, clock):
    _, approvals, *_ = make_follow(store, clock)
    review = approvals.drafts.check("@newfriend さんをフォローしました")
    assert [f.rule_id for f in review.findings] == [FOLLOW_UNCHECKED_RULE]


def test_a_draft_following_an_account_still_waiting_for_a_manager_needs_approval(store, clock):
    service, approvals, *_ = make_follow(store, clock)
    service.answer("party", "political_religious", False, USER, CHANNEL)
    draft_id = approvals.receive(CHANNEL, "1.000500", USER, "@party をフォローしました")
    approvals.drafts.sync(draft_id)
    assert approvals.store.approvals_of_draft(draft_id) != []
