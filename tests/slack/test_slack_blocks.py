"""The bot's messages stay inside Block Kit's limits and read well."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.types import Finding, Review
from bot.services import ReplyView
from bot.slack import action_ids
from bot.slack.blocks import draft_reply, private_check
from bot.store import FindingRecord


def record(i: int, message: str = "言葉づかいに注意", **overrides) -> FindingRecord:
    values = {
        "id": i,
        "draft_id": 1,
        "review_no": 1,
        "position": i,
        "rule_id": f"rule.{i}",
        "category": "overboard",
        "severity": "warning",
        "requires_approval": False,
        "excerpt": "バカ",
        "message": message,
        "suggestion": "別の言い方",
        "guideline": "G2",
        "confidence": "high",
        "dismissed_by": None,
        "dismissed_at": None,
    }
    values.update(overrides)
    return FindingRecord(**values)


def reply(findings, verdict="warn", locale="ja"):
    return draft_reply(ReplyView("C1", "1.1", verdict, tuple(findings), locale))


def texts(message) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def test_the_reply_opens_with_the_verdict_and_quotes_each_finding():
    message = reply([record(1)])
    assert message.text.startswith("気になる点があります（1件）")
    body = texts(message)
    assert "「バカ」" in body and "言葉づかいに注意" in body and "別の言い方" in body
    assert "G2" in body


def test_each_finding_has_a_not_a_problem_button_carrying_its_id():
    (button,) = [b["accessory"] for b in reply([record(7)]).blocks if "accessory" in b]
    assert button["action_id"] == action_ids.DISMISS_FINDING
    assert button["value"] == "7"
    assert button["text"]["text"] == "問題なし"


def test_a_dismissed_finding_shows_who_dismissed_it_instead_of_a_button():
    done = record(1, dismissed_by="UBOB", dismissed_at=datetime(2025, 1, 1, tzinfo=UTC))
    message = reply([done], verdict="ok")
    assert not any("accessory" in b for b in message.blocks)
    assert "<@UBOB>" in texts(message)


def test_an_ok_reply_says_nothing_stood_out_in_english_too():
    message = reply([], verdict="ok", locale="en")
    assert message.text == "OK"
    assert "Nothing in the guidelines stood out." in texts(message)


def test_long_lists_are_capped_with_a_count_of_the_rest():
    message = reply([record(i) for i in range(40)])
    assert "ほか 30 件" in texts(message)
    assert len(message.blocks) <= 50


def test_excerpts_cannot_inject_slack_markup():
    body = texts(reply([record(1, excerpt="<!channel> <@U1> & co")]))
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body


def test_a_private_check_has_no_buttons_and_says_it_is_private():
    finding = Finding("r", "c", "error", False, 0, 2, "バカ", "侮辱")
    message = private_check(Review("バカ", (finding,)), "ja")
    assert message.text.startswith("修正が必要です")
    assert not any("accessory" in b for b in message.blocks)
    assert "記録されません" in texts(message)


@settings(max_examples=30, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=120),
    size=st.integers(min_value=1, max_value=5000),
)
def test_any_number_of_findings_of_any_length_fits_block_kit(count, size):
    findings = [
        record(i, message="あ" * size, excerpt="い" * size, suggestion="う" * size)
        for i in range(count)
    ]
    message = reply(findings)
    assert len(message.blocks) <= 50
    assert len(json.dumps(message.blocks, ensure_ascii=False)) < 12000
    assert 0 < len(message.text) <= 3000
    for block in message.blocks:
        assert len(block.get("text", {}).get("text", "")) <= 3000
