"""Operating the real `serve --http` process: /readyz, /metrics, JSON logs, SIGTERM mid-work."""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.error
import urllib.request

from slack_payloads import CHANNEL, message_event, new_ts

from bot.slack.stub import StubSlack


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def metrics(server) -> dict[str, float]:
    """Return every sample of /metrics by its name and labels, as Prometheus prints them."""
    status, body = get(server.url + "/metrics")
    assert status == 200
    samples = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def replies_to(stub: StubSlack, ts: str) -> list:
    return [c for c in stub.calls_to("chat.postMessage") if c.params.get("thread_ts") == ts]


def wait_reply(stub: StubSlack, ts: str) -> None:
    assert stub.wait_for(lambda s: replies_to(s, ts)), f"no reply to {ts}"
    assert stub.wait_for(lambda s: s.reactions(CHANNEL, ts)), f"no reaction on {ts}"


def eventually(predicate, timeout: float = 20.0) -> bool:
    """Wait until predicate() holds (a bound on waiting, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_readyz_says_ready_once_the_database_answers_and_the_rules_are_loaded(server):
    assert get(server.url + "/readyz") == (200, "ready\n")
    assert get(server.url + "/healthz") == (200, "ok\n")


def test_metrics_count_drafts_by_verdict_findings_by_category_and_time_each_review(server, stub):
    before = metrics(server)
    ts = new_ts()
    server.slack.event(message_event("今度コラボしませんか？", ts))
    wait_reply(stub, ts)
    after = metrics(server)
    verdict = 'social_review_drafts_reviewed_total{verdict="approval"}'
    assert after[verdict] == before[verdict] + 1
    collab = 'social_review_findings_total{category="collaboration"}'
    assert after[collab] >= before.get(collab, 0) + 1
    assert (
        after["social_review_review_seconds_count"]
        == before["social_review_review_seconds_count"] + 1
    )
    assert 'social_review_approval_latency_seconds_count{outcome="approved"}' in after


def test_slack_api_errors_are_counted_by_method_and_error(server, stub):
    key = 'social_review_slack_api_errors_total{error="http_503",method="chat.postMessage"}'
    before = metrics(server).get(key, 0)
    stub.fail("chat.postMessage", status=503, times=1)
    ts = new_ts()
    server.slack.event(message_event("新商品のお知らせです", ts))
    wait_reply(stub, ts)
    assert metrics(server)[key] == before + 1


def test_logs_are_json_lines_without_tokens_or_draft_text(server, stub):
    secret_draft = "社外秘メモ：来月の値下げ"
    ts = new_ts()
    stub.fail("chat.postMessage", status=200, error="msg_too_long", times=1)
    server.slack.event(message_event(secret_draft, ts))
    assert stub.wait_for(lambda s: s.calls_to("chat.postMessage", ok_only=False))
    assert eventually(lambda: "not delivered" in server.log.read_text(encoding="utf-8"))
    text = server.log.read_text(encoding="utf-8")
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert secret_draft not in text and "値下げ" not in text
    assert stub.token not in text and not re.search(r"xox[a-z]-[A-Za-z0-9]", text)


def test_sigterm_during_a_reply_in_flight_finishes_it_and_exits_cleanly(server_factory, stub):
    app = server_factory()
    stub.hold("chat.postMessage")
    ts = new_ts()
    try:
        assert app.slack.event(message_event("新商品のお知らせです", ts)).status == 200
        assert stub.wait_for(lambda s: s.held("chat.postMessage") >= 1), "reply never started"
        app.process.send_signal(signal.SIGTERM)
        assert eventually(lambda: "draining" in app.log.read_text(encoding="utf-8"))
        assert app.process.poll() is None, "exited with a reply still in flight"
    finally:
        stub.release("chat.postMessage")
    assert app.process.wait(timeout=60) == 0
    assert len(replies_to(stub, ts)) == 1
    assert stub.reactions(CHANNEL, ts), "the verdict reaction was lost"
    log = app.log.read_text(encoding="utf-8")
    assert '"stopped"' in log and "Traceback" not in log
