"""The review service with a real SQLite store and a publisher that records what it was asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from bot.rules.types import Finding, Review
from bot.services import DeliveryError, DraftReviewService, ReplyView
from bot.store import open_store


class WordRules:
    """A stand-in engine: flags fixed words (コラボ needs approval, バカ is an error)."""

    locale = "ja"
    words: ClassVar[dict[str, tuple[str, str, bool]]] = {
        "コラボ": ("collaboration.proposal", "warning", True),
        "バカ": ("overboard.insult", "error", False),
        "草": ("tone.slang", "warning", False),
    }

    def review(self, text: str) -> Review:
        found = []
        for word, (rule_id, severity, approval) in self.words.items():
            start = text.find(word)
            if start >= 0:
                found.append(
                    Finding(
                        rule_id=rule_id,
                        category=rule_id.split(".")[0],
                        severity=severity,  # type: ignore[arg-type]
                        requires_approval=approval,
                        start=start,
                        end=start + len(word),
                        excerpt=word,
                        message=f"{word} に注意",
                        guideline="G5" if approval else "G2",
                    )
                )
        return Review(text, tuple(found))


@dataclass
class RecordingPublisher:
    """A Slack stand-in that keeps replies and reactions, and can be told to fail."""

    replies: dict[str, ReplyView] = field(default_factory=dict)
    reactions: dict[tuple[str, str], str] = field(default_factory=dict)
    posts: int = 0
    failures: dict[str, int] = field(default_factory=dict)

    def _maybe_fail(self, op: str) -> None:
        if self.failures.get(op, 0) > 0:
            self.failures[op] -= 1
            raise DeliveryError(f"{op}: http_500")

    def post_reply(self, view: ReplyView) -> str:
        self._maybe_fail("post")
        self.posts += 1
        ts = f"9.{self.posts:06d}"
        self.replies[ts] = view
        return ts

    def update_reply(self, reply_ts: str, view: ReplyView) -> bool:
        self._maybe_fail("update")
        if reply_ts not in self.replies:
            return False
        self.replies[reply_ts] = view
        return True

    def delete_reply(self, channel: str, reply_ts: str) -> None:
        self._maybe_fail("delete")
        self.replies.pop(reply_ts, None)

    def mark(self, channel: str, ts: str, old, new) -> None:
        self._maybe_fail("mark")
        self.reactions[(channel, ts)] = new


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def service(tmp_path, clock, publisher):
    store = open_store(f"sqlite:///{tmp_path / 'services.db'}", clock())
    yield DraftReviewService(store=store, rules=WordRules(), publisher=publisher, clock=clock)
    store.close()


def post(service: DraftReviewService, text: str, ts: str = "1.000100") -> None:
    service.sync(service.receive("CREVIEW", ts, "UALICE", text))


def only_reply(publisher: RecordingPublisher) -> ReplyView:
    (view,) = publisher.replies.values()
    return view


def test_a_new_draft_gets_one_reply_and_a_reaction(service, publisher):
    post(service, "今度コラボしませんか")
    view = only_reply(publisher)
    assert view.verdict == "approval"
    assert [f.rule_id for f in view.findings] == ["collaboration.proposal"]
    assert publisher.reactions[("CREVIEW", "1.000100")] == "approval"


def test_a_clean_draft_gets_an_ok_reply(service, publisher):
    post(service, "新商品が出ました！")
    assert only_reply(publisher).verdict == "ok"
    assert publisher.reactions[("CREVIEW", "1.000100")] == "ok"


def test_a_redelivered_draft_is_not_answered_twice(service, publisher):
    post(service, "バカ")
    post(service, "バカ")
    assert publisher.posts == 1


def test_an_edit_updates_the_reply_instead_of_posting_another(service, publisher):
    post(service, "バカ")
    draft_id = service.revise("CREVIEW", "1.000100", "UALICE", "ありがとうございます", "1.5")
    service.sync(draft_id)
    assert publisher.posts == 1
    assert only_reply(publisher).verdict == "ok"
    assert publisher.reactions[("CREVIEW", "1.000100")] == "ok"


def test_an_edit_that_keeps_the_text_does_nothing(service, publisher):
    post(service, "バカ")
    assert service.revise("CREVIEW", "1.000100", "UALICE", "バカ", "1.5") is None


def test_deleting_a_draft_takes_its_reply_down(service, publisher):
    post(service, "バカ")
    service.sync(service.remove("CREVIEW", "1.000100"))
    assert publisher.replies == {}


def test_a_reply_that_cannot_be_delivered_is_kept_and_delivered_later(service, publisher, clock):
    publisher.failures["post"] = 2
    post(service, "バカ")
    assert publisher.replies == {}
    assert service.retry_due() == 0  # not before its retry time
    clock.advance(2)
    service.retry_due()  # second failure: waits longer
    assert publisher.replies == {}
    clock.advance(4)
    assert service.retry_due() == 1
    assert only_reply(publisher).verdict == "block"
    assert service.retry_due() == 0


def test_a_failure_after_posting_never_posts_the_reply_twice(service, publisher, clock):
    publisher.failures["mark"] = 1
    post(service, "バカ")
    clock.advance(60)
    service.retry_due()
    assert publisher.posts == 1
    assert publisher.reactions[("CREVIEW", "1.000100")] == "block"


def test_a_reply_deleted_in_slack_is_posted_again_on_the_next_edit(service, publisher):
    post(service, "バカ")
    publisher.replies.clear()
    service.sync(service.revise("CREVIEW", "1.000100", "UALICE", "草", "1.5"))
    assert only_reply(publisher).verdict == "warn"


def test_dismissing_a_finding_updates_the_reply_and_is_counted(service, publisher):
    post(service, "バカ")
    (finding,) = only_reply(publisher).findings
    service.sync(service.dismiss(finding.id, "UBOB"))
    view = only_reply(publisher)
    assert view.findings[0].dismissed_by == "UBOB"
    assert view.verdict == "ok"
    assert service.dismiss(finding.id, "UCAROL") is None
    (stat,) = service.rule_stats()
    assert (stat.rule_id, stat.hits, stat.dismissals) == ("overboard.insult", 1, 1)


def test_a_dismissed_finding_that_needs_approval_still_needs_approval(service, publisher):
    post(service, "コラボ")
    (finding,) = only_reply(publisher).findings
    service.sync(service.dismiss(finding.id, "UBOB"))
    assert only_reply(publisher).verdict == "approval"


def test_a_private_check_records_nothing(service, publisher):
    assert service.check("バカ").verdict == "block"
    assert service.rule_stats() == []
    assert publisher.replies == {}
