"""Logs without secrets, metrics from reviews, readiness, and the retention purge of draft text."""

from __future__ import annotations

import io
import json
import logging
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest

from bot.config import ConfigError, load_slack_config
from bot.observability import (
    InstrumentedReviewer,
    JsonFormatter,
    Metrics,
    Readiness,
    ops_app,
    redact,
    start_ops_server,
)
from bot.store import NewFinding

ENV = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_APP_TOKEN": "xapp-1",
    "SOCIAL_REVIEW_CHANNELS": "C0123ABCD",
}


def test_tokens_are_redacted_from_any_log_line():
    line = "auth failed for xoxb-123-456-abcDEF and xapp-1-A0-99 (xoxp-9)"
    assert (
        "123" not in redact(line) and "abcDEF" not in redact(line) and "A0-99" not in redact(line)
    )


def test_draft_text_in_a_logged_payload_is_redacted_unless_drafts_may_be_logged():
    payload = str({"event": {"type": "message", "text": "社外秘の下書き"}})
    as_json = json.dumps({"message": {"text": 'it\'s "quoted"'}})
    assert "社外秘" not in redact(payload) and "'type': 'message'" in redact(payload)
    assert "quoted" not in redact(as_json)
    assert "社外秘" in redact(payload, keep_drafts=True)


def test_json_log_lines_carry_level_logger_and_a_redacted_exception():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.observability")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        raise RuntimeError("token xoxb-secret-1 refused")
    except RuntimeError:
        logger.exception("call failed for %s", {"text": "下書き本文"})
    finally:
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue())
    assert entry["level"] == "error" and entry["logger"] == "test.observability"
    assert "下書き本文" not in entry["message"] and "xoxb-secret" not in entry["exception"]


class _Finding:
    def __init__(self, category: str) -> None:
        self.category = category


class _Review:
    verdict = "warn"
    findings = (_Finding("overboard"), _Finding("overboard"))


class _Engine:
    locale = "ja"

    def review(self, text: str) -> _Review:
        return _Review()


def test_each_review_is_counted_by_verdict_and_its_findings_by_category():
    metrics = Metrics()
    reviewer = InstrumentedReviewer(_Engine(), metrics)
    reviewer.review("x")
    text = metrics.exposition().decode()
    assert 'social_review_drafts_reviewed_total{verdict="warn"} 1.0' in text
    assert 'social_review_drafts_reviewed_total{verdict="ok"} 0.0' in text
    assert 'social_review_findings_total{category="overboard"} 2.0' in text
    assert "social_review_review_seconds_count 1.0" in text
    assert reviewer.locale == "ja"


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_readyz_is_503_with_the_reason_while_the_database_is_down_or_the_app_drains():
    down = threading.Event()
    draining = threading.Event()

    def ping() -> None:
        if down.is_set():
            raise ConnectionError("refused")

    server = start_ops_server(ops_app(Readiness(ping, lambda: True, draining)), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert _get(url + "/readyz") == (200, "ready\n")
        down.set()
        status, body = _get(url + "/readyz")
        assert status == 503 and "database unavailable" in body
        assert _get(url + "/healthz") == (200, "ok\n")  # liveness does not follow the database
        down.clear()
        draining.set()
        assert _get(url + "/readyz") == (503, "shutting down\n")
        assert _get(url + "/metrics")[0] == 200
        assert _get(url + "/slack/events")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_retention_defaults_to_90_days_and_bad_ops_settings_are_listed():
    assert load_slack_config(http=False, environ=ENV).retention_days == 90
    bad = {**ENV, "SOCIAL_REVIEW_RETENTION_DAYS": "soon", "SOCIAL_REVIEW_LOG_FORMAT": "xml"}
    with pytest.raises(ConfigError) as caught:
        load_slack_config(http=False, environ=bad)
    assert len(caught.value.problems) == 2


def _finding(excerpt: str) -> NewFinding:
    return NewFinding(
        rule_id="overboard.insult",
        category="overboard",
        severity="error",
        requires_approval=False,
        excerpt=excerpt,
        message="m",
        suggestion=None,
        guideline="G2",
        confidence="high",
    )


def test_the_purge_blanks_old_draft_text_and_keeps_the_audit_trail(store, clock):
    old = store.add_draft("C1", "1.0", "U1", "hash-old", [_finding("バカ")], clock())
    clock.advance(timedelta(days=100).total_seconds())
    new = store.add_draft("C1", "2.0", "U1", "hash-new", [_finding("アホ")], clock())
    cutoff = clock() - timedelta(days=90)
    assert store.purge_draft_text(cutoff) == 1
    assert store.purge_draft_text(cutoff) == 0  # idempotent: every replica may run it
    (purged,) = store.findings(old.draft_id, 1)
    (kept,) = store.findings(new.draft_id, 1)
    assert purged.excerpt == "" and purged.rule_id == "overboard.insult"
    assert kept.excerpt == "アホ"
    assert store.draft("C1", "1.0") is not None
    assert {s.rule_id: s.hits for s in store.rule_stats()} == {"overboard.insult": 2}
