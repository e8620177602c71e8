"""Manager approval as a service, on SQLite and PostgreSQL, with a publisher that records."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from test_services import RecordingPublisher, WordRules

from bot.policy.approvers import (
    ApprovalPolicy,
    ApproverDirectory,
    GroupLookupError,
)
from bot.policy.time import TimePolicy, TimeRules
from bot.services import DraftReviewService
from bot.services.approvals import ApprovalService, NoticeView, RequestView

CHANNEL = "CREVIEW"
AUTHOR = "UALICE"
BOSS, BOSS2, STRANGER = "UBOSS01", "UBOSS02", "USTRANGER"
COLLAB = "今度コラボしませんか"


@dataclass
class RecordingApprovals:
    """Keeps the requests, notices and reactions the service asked Slack for."""

    requests: dict[tuple[str, str], RequestView] = field(default_factory=dict)
    notices: list[tuple[str, str | None, NoticeView]] = field(default_factory=list)
    states: dict[tuple[str, str], str] = field(default_factory=dict)
    posted: int = 0

    def post_request(self, view: RequestView, channel: str, thread_ts: str | None) -> str:
        self.posted += 1
        ts = f"8.{self.posted:06d}"
        self.requests[(channel, ts)] = view
        return ts

    def update_request(self, view: RequestView, channel: str, ts: str) -> bool:
        if (channel, ts) not in self.requests:
            return False
        self.requests[(channel, ts)] = view
        return True

    def post_notice(self, view: NoticeView, channel: str, thread_ts: str | None) -> None:
        self.notices.append((channel, thread_ts, view))

    def mark_state(self, channel: str, ts: str, old: str | None, new: str) -> None:
        self.states[(channel, ts)] = new

    def link(self, channel: str, ts: str) -> str:
        return f"https://slack.test/{channel}/{ts}"

    def kinds(self) -> list[str]:
        return [n.kind for _, _, n in self.notices]


class Groups:
    """A user-group lookup that can be told to fail, counting its calls."""

    def __init__(self, members: dict[str, list[str]] | None = None) -> None:
        self.members = members or {}
        self.failing = False
        self.calls = 0

    def __call__(self, group: str) -> list[str]:
        self.calls += 1
        if self.failing:
            raise GroupLookupError("not_allowed_token_type")
        return self.members[group]


def make(store, clock, policy: ApprovalPolicy | None = None, groups: Groups | None = None):
    policy = policy or ApprovalPolicy(approvers=[BOSS, BOSS2])
    drafts = DraftReviewService(
        store=store, rules=WordRules(), publisher=RecordingPublisher(), clock=clock
    )
    directory = ApproverDirectory(policy, groups or Groups(), clock)
    slack = RecordingApprovals()
    service = ApprovalService(
        store=store, drafts=drafts, directory=directory, publisher=slack, clock=clock
    )
    return service, slack


def post(service: ApprovalService, text: str = COLLAB, ts: str = "1.000100") -> int:
    draft_id = service.receive(CHANNEL, ts, AUTHOR, text)
    service.drafts.sync(draft_id)
    service.sync_draft(draft_id)
    return draft_id


def only_request(service: ApprovalService, draft_id: int):
    (approval_id,) = service.store.approvals_of_draft(draft_id)
    return service.store.approval(approval_id)


def events(service: ApprovalService) -> list[tuple[str, str | None]]:
    return [(r.event, r.actor) for r in service.store.audit(None)]


def test_a_collaboration_draft_opens_one_request_in_its_thread(store, clock):
    service, slack = make(store, clock)
    draft_id = post(service)
    service.receive(CHANNEL, "1.000100", AUTHOR, COLLAB)  # Slack delivers it again
    approval = only_request(service, draft_id)
    assert approval.state == "pending" and approval.text == COLLAB
    assert approval.author_id == AUTHOR and approval.required == 1
    (view,) = slack.requests.values()
    assert view.mention and view.approver_ids == (BOSS, BOSS2)
    assert [f.rule_id for f in view.reasons] == ["collaboration.proposal"]
    assert slack.states[(CHANNEL, "1.000100")] == "pending"
    assert events(service) == [("requested", AUTHOR)]


def test_a_draft_without_approval_findings_opens_no_request(store, clock):
    service, slack = make(store, clock)
    draft_id = post(service, "バカ")
    assert service.store.approvals_of_draft(draft_id) == []
    assert slack.requests == {}


def test_an_approver_approves_and_the_author_is_told_in_the_thread(store, clock):
    service, slack = make(store, clock)
    approval = only_request(service, post(service))
    result = service.approve(approval.id, BOSS, "  了解です  ")
    assert result.outcome == "approved"
    service.sync(approval.id)
    stored = service.store.approval(approval.id)
    assert (stored.state, stored.decided_by, stored.note) == ("approved", BOSS, "了解です")
    assert stored.decided_at == clock()
    (view,) = slack.requests.values()
    assert view.approval.state == "approved"
    assert slack.states[(CHANNEL, "1.000100")] == "approved"
    assert [(c, t, n.kind, n.actor) for c, t, n in slack.notices] == [
        (CHANNEL, "1.000100", "approved", BOSS)
    ]
    assert events(service)[-2:] == [("approve", BOSS), ("approved", BOSS)]


def test_a_rejection_carries_its_reason(store, clock):
    service, slack = make(store, clock)
    approval = only_request(service, post(service))
    assert service.reject(approval.id, BOSS2, "時期尚早です").outcome == "rejected"
    service.sync(approval.id)
    stored = service.store.approval(approval.id)
    assert (stored.state, stored.decided_by, stored.note) == ("rejected", BOSS2, "時期尚早です")
    assert slack.notices[-1][2].note == "時期尚早です"
    assert service.approve(approval.id, BOSS, None).outcome == "closed"


def test_only_approvers_decide_and_nobody_decides_their_own_draft(store, clock):
    policy = ApprovalPolicy(approvers=[BOSS, AUTHOR])
    service, _ = make(store, clock, policy)
    approval = only_request(service, post(service))
    assert service.approve(approval.id, STRANGER).outcome == "not_approver"
    assert service.reject(approval.id, STRANGER, "x").outcome == "not_approver"
    assert service.approve(approval.id, AUTHOR).outcome == "own_draft"
    assert service.precheck(approval.id, AUTHOR).outcome == "own_draft"
    assert service.store.approval(approval.id).state == "pending"
    assert events(service) == [("requested", AUTHOR)]


def test_a_bot_never_counts_as_an_approver_even_when_listed(store, clock):
    service, _ = make(store, clock, ApprovalPolicy(approvers=[BOSS, BOSS2]))
    service.bot_user_ids = frozenset([BOSS2])  # e.g. an automation account put in the list
    approval = only_request(service, post(service))
    assert service.approve(approval.id, BOSS2).outcome == "not_approver"
    assert service.store.approval(approval.id).state == "pending"
    assert service.approve(approval.id, BOSS).outcome == "approved"


def test_a_second_click_changes_nothing_and_says_who_decided(store, clock):
    service, _ = make(store, clock)
    approval = only_request(service, post(service))
    assert service.approve(approval.id, BOSS).outcome == "approved"
    again = service.approve(approval.id, BOSS)
    other = service.reject(approval.id, BOSS2, "遅い")
    assert again.outcome == other.outcome == "closed"
    assert other.approval.decided_by == BOSS
    assert [e for e in events(service) if e[0] in ("approved", "rejected")] == [("approved", BOSS)]


def test_two_approvers_clicking_at_once_record_exactly_one_decision(store, clock):
    service, _ = make(store, clock)
    approval = only_request(service, post(service))
    barrier = threading.Barrier(2)
    results = {}

    def click(user: str) -> None:
        barrier.wait()
        if user == BOSS:
            results[user] = service.approve(approval.id, user)
        else:
            results[user] = service.reject(approval.id, user, "no")

    threads = [threading.Thread(target=click, args=(u,)) for u in (BOSS, BOSS2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = sorted(r.outcome for r in results.values())
    assert outcomes in (["approved", "closed"], ["closed", "rejected"])
    decisions = [e for e in events(service) if e[0] in ("approved", "rejected")]
    assert len(decisions) == 1
    assert service.store.approval(approval.id).state in ("approved", "rejected")


def test_two_of_three_approvals_show_progress_and_a_voter_counts_once(store, clock):
    policy = ApprovalPolicy(approvers=[BOSS, BOSS2, "UBOSS03"], required=2)
    service, slack = make(store, clock, policy)
    approval = only_request(service, post(service))
    first = service.approve(approval.id, BOSS)
    assert (first.outcome, first.approval.approve_count) == ("counted", 1)
    assert service.approve(approval.id, BOSS).outcome == "already_voted"
    service.sync(approval.id)
    (view,) = slack.requests.values()
    assert (view.approval.approve_count, view.approval.required) == (1, 2)
    assert service.approve(approval.id, BOSS2).outcome == "approved"
    stored = service.store.approval(approval.id)
    assert (stored.state, stored.voters, stored.decided_by) == ("approved", (BOSS, BOSS2), BOSS2)


def test_editing_after_approval_makes_it_stale_and_asks_again(store, clock):
    service, slack = make(store, clock)
    draft_id = post(service)
    first = only_request(service, draft_id)
    service.approve(first.id, BOSS)
    service.sync(first.id)
    changed = service.revise(CHANNEL, "1.000100", AUTHOR, COLLAB + "！来月どうですか", "1.000200")
    assert changed == draft_id
    service.drafts.sync(draft_id)
    service.sync_draft(draft_id)
    old, new = (service.store.approval(i) for i in service.store.approvals_of_draft(draft_id))
    assert old.state == "stale" and new.state == "pending"
    assert new.text.endswith("来月どうですか") and new.review_no == 2
    assert "stale" in slack.kinds()
    assert service.approve(old.id, BOSS2).outcome == "stale"
    assert slack.states[(CHANNEL, "1.000100")] == "pending"


def test_editing_while_pending_binds_the_click_to_the_new_text_only(store, clock):
    service, _ = make(store, clock)
    draft_id = post(service)
    old = only_request(service, draft_id)
    service.revise(CHANNEL, "1.000100", AUTHOR, "新商品が出ました", "1.000200")
    assert service.approve(old.id, BOSS).outcome == "stale"
    assert [
        service.store.approval(i).state for i in service.store.approvals_of_draft(draft_id)
    ] == ["stale"]


def test_deleting_the_draft_withdraws_the_request(store, clock):
    service, _ = make(store, clock)
    draft_id = post(service)
    approval = only_request(service, draft_id)
    service.remove(CHANNEL, "1.000100")
    service.sync_draft(draft_id)
    assert service.store.approval(approval.id).state == "withdrawn"
    assert service.approve(approval.id, BOSS).outcome == "closed"
    assert ("withdrawn", None) in events(service)


def test_waiting_requests_are_reannounced_and_then_expire(store, clock):
    # Tuesday 10:00 in Tokyo: four working hours later is 14:00 the same day.
    clock.now = datetime(2025, 4, 1, 1, 0, tzinfo=UTC)
    service, slack = make(store, clock)
    approval = only_request(service, post(service))
    assert approval.remind_at == datetime(2025, 4, 1, 5, 0, tzinfo=UTC)
    assert approval.expires_at == clock.now + timedelta(days=3)
    assert service.sweep(clock.now + timedelta(hours=3)) == []
    clock.advance(4 * 3600)
    assert service.sweep(clock.now) == [approval.id]
    assert service.sweep(clock.now) == []  # once per due time, however often the sweep runs
    assert slack.kinds() == ["reminded"]
    assert slack.notices[0][2].approver_ids == (BOSS, BOSS2)
    clock.now = approval.expires_at
    assert approval.id in service.sweep(clock.now)
    stored = service.store.approval(approval.id)
    assert stored.state == "expired"
    assert slack.kinds()[-1] == "expired"
    assert slack.states[(CHANNEL, "1.000100")] == "expired"
    assert service.approve(approval.id, BOSS).outcome == "closed"
    assert [e for e, _ in events(service)] == ["requested", "reminded", "expired"]


def test_the_managers_channel_gets_the_request_without_mentions(store, clock):
    policy = ApprovalPolicy(approvers=[BOSS], post_to="channel", channel="CMANAGERS")
    service, slack = make(store, clock, policy)
    post(service)
    ((channel, _),) = slack.requests.keys()
    assert channel == "CMANAGERS"
    assert not next(iter(slack.requests.values())).mention


def test_a_user_group_is_looked_up_once_and_refreshed_when_it_changes(store, clock):
    groups = Groups({"SMANAGERS": [BOSS2]})
    policy = ApprovalPolicy(usergroup="SMANAGERS", approvers=[BOSS])
    service, _ = make(store, clock, policy, groups)
    assert service.directory.current().users == {BOSS, BOSS2}
    assert service.directory.current().users == {BOSS, BOSS2}
    assert groups.calls == 1
    groups.members["SMANAGERS"] = ["UNEWBOSS"]
    service.member_changes("SMANAGERS")
    assert service.directory.current().users == {BOSS, "UNEWBOSS"}


def test_a_failing_user_group_lookup_falls_back_to_the_listed_approvers(store, clock):
    groups = Groups({"SMANAGERS": [BOSS2]})
    groups.failing = True
    policy = ApprovalPolicy(usergroup="SMANAGERS", approvers=[BOSS])
    service, _ = make(store, clock, policy, groups)
    approval = only_request(service, post(service))
    assert service.approve(approval.id, BOSS2).outcome == "not_approver"
    assert service.directory.current().fell_back
    assert service.approve(approval.id, BOSS).outcome == "approved"


def test_the_home_tab_lists_waiting_requests_for_approvers_and_own_drafts_for_authors(store, clock):
    service, _ = make(store, clock)
    approval = only_request(service, post(service))
    boss = service.home(BOSS)
    assert boss.is_approver and [a.id for a in boss.waiting] == [approval.id]
    author = service.home(AUTHOR)
    assert not author.is_approver and [a.id for a in author.mine] == [approval.id]
    service.approve(approval.id, BOSS)
    assert service.home(BOSS).waiting == ()


def test_the_audit_trail_can_be_read_from_a_date(store, clock):
    service, _ = make(store, clock)
    approval = only_request(service, post(service))
    clock.advance(86400)
    service.reject(approval.id, BOSS, "NG")
    rows = service.store.audit(clock.now - timedelta(hours=1))
    assert [(r.event, r.actor, r.note, r.channel) for r in rows] == [
        ("rejected", BOSS, "NG", CHANNEL)
    ]


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Tokyo times: Tue 10:00 + 4h = Tue 14:00; Tue 16:00 + 4h = Wed 11:00;
        # Fri 17:00 + 4h = Mon 12:00; Sat 12:00 + 1h = Mon 10:00.
        (datetime(2025, 4, 1, 1, 0, tzinfo=UTC), 4, datetime(2025, 4, 1, 5, 0, tzinfo=UTC)),
        (datetime(2025, 4, 1, 7, 0, tzinfo=UTC), 4, datetime(2025, 4, 2, 2, 0, tzinfo=UTC)),
        (datetime(2025, 4, 4, 8, 0, tzinfo=UTC), 4, datetime(2025, 4, 7, 3, 0, tzinfo=UTC)),
        (datetime(2025, 4, 5, 3, 0, tzinfo=UTC), 1, datetime(2025, 4, 7, 1, 0, tzinfo=UTC)),
    ],
)
def test_reminders_count_working_hours_only(start, hours, expected):
    assert TimeRules(TimePolicy()).working_hours_after(start, hours) == expected


def test_a_policy_needs_someone_to_approve_and_a_channel_when_posting_to_one():
    with pytest.raises(ValueError, match="approvers"):
        ApprovalPolicy()
    with pytest.raises(ValueError, match="channel"):
        ApprovalPolicy(approvers=[BOSS], post_to="both")
    with pytest.raises(ValueError):
        ApprovalPolicy(approvers=[BOSS], unknown=1)
