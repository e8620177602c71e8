"""The real app process, driven by signed Slack payloads, answering through the stub Web API."""

from __future__ import annotations

import json
import subprocess
import time

from slack_payloads import (
    CHANNEL,
    button_click,
    changed_event,
    deleted_event,
    event_callback,
    message_event,
    message_shortcut,
    new_ts,
)

from bot.slack import action_ids
from bot.slack.stub import StubSlack

COLLAB = "今度コラボしませんか？ 詳しくは <https://example.com|example.com> &amp; @sharp_jp まで"


def replies_to(stub: StubSlack, ts: str) -> list:
    return [c for c in stub.calls_to("chat.postMessage") if c.params.get("thread_ts") == ts]


def wait_reply(stub: StubSlack, ts: str, timeout: float = 10.0):
    """Wait for the reply to a draft and the verdict reaction that follows it."""
    assert stub.wait_for(lambda s: replies_to(s, ts), timeout), f"no reply to {ts}"
    assert stub.wait_for(lambda s: s.reactions(CHANNEL, ts), timeout), f"no reaction on {ts}"
    (reply,) = replies_to(stub, ts)
    return reply


def reply_ts_of(stub: StubSlack, ts: str) -> str:
    (key,) = [k for k, m in stub.messages(CHANNEL).items() if m.get("thread_ts") == ts]
    return key[1]


def test_a_draft_gets_a_thread_reply_and_a_verdict_reaction(server, stub):
    ts = new_ts()
    assert server.slack.event(message_event(COLLAB, ts)).status == 200
    reply = wait_reply(stub, ts)
    assert reply.params["channel"] == CHANNEL
    assert reply.params["text"].startswith("承認が必要です")
    blocks = json.dumps(reply.params["blocks"], ensure_ascii=False)
    assert "「コラボ」" in blocks and "G5" in blocks
    assert stub.wait_for(lambda s: s.reactions(CHANNEL, ts) == {"raised_hand"})


def test_editing_a_draft_updates_the_reply_instead_of_posting_a_new_one(server, stub):
    ts = new_ts()
    server.slack.event(message_event("今度コラボしませんか？", ts))
    wait_reply(stub, ts)
    stub.wait_for(lambda s: s.reactions(CHANNEL, ts))
    server.slack.event(changed_event(ts, "新商品が出ました！", "今度コラボしませんか？"))
    assert stub.wait_for(lambda s: s.reactions(CHANNEL, ts) == {"white_check_mark"})
    reply_ts = reply_ts_of(stub, ts)
    # "OK", plus the after-hours note: the payloads' ts is 07:13 JST.
    assert stub.messages(CHANNEL)[(CHANNEL, reply_ts)]["text"].startswith("OK")
    assert len(replies_to(stub, ts)) == 1
    assert [c.params["ts"] for c in stub.calls_to("chat.update")].count(reply_ts) == 1


def test_a_link_preview_edit_with_unchanged_text_does_nothing(server, stub):
    ts = new_ts()
    text = "新商品のお知らせ <https://example.com>"
    server.slack.event(message_event(text, ts))
    wait_reply(stub, ts)
    before = len(stub.calls)
    assert server.slack.event(changed_event(ts, text, text, edited=False)).status == 200
    sentinel = new_ts()
    server.slack.event(message_event("別の下書き", sentinel))
    wait_reply(stub, sentinel)
    touched = [c for c in stub.calls[before:] if ts in json.dumps(c.params)]
    assert touched == []


def test_deleting_a_draft_takes_its_reply_down(server, stub):
    ts = new_ts()
    server.slack.event(message_event("バカ", ts))
    wait_reply(stub, ts)
    reply_ts = reply_ts_of(stub, ts)
    server.slack.event(deleted_event(ts, "バカ"))
    assert stub.wait_for(lambda s: (CHANNEL, reply_ts) not in s.messages(CHANNEL))


def test_a_retried_delivery_gets_no_second_reply(server, stub):
    ts = new_ts()
    envelope = event_callback(message_event("バカ", ts))
    assert server.slack.envelope(envelope).status == 200
    assert server.slack.envelope(envelope, retry_num=1).status == 200
    assert server.slack.envelope(envelope, retry_num=2).status == 200
    wait_reply(stub, ts)
    sentinel = new_ts()
    server.slack.event(message_event("別の下書き", sentinel))
    wait_reply(stub, sentinel)
    assert len(replies_to(stub, ts)) == 1


def test_two_replicas_sharing_a_database_reply_once(server_factory, server, stub):
    second = server_factory()
    ts = new_ts()
    envelope = event_callback(message_event("バカ", ts))
    assert server.slack.envelope(envelope).status == 200
    assert second.slack.envelope(envelope, retry_num=1).status == 200
    wait_reply(stub, ts)
    sentinel = new_ts()
    second.slack.event(message_event("別の下書き", sentinel))
    wait_reply(stub, sentinel)
    assert len(replies_to(stub, ts)) == 1
    assert second.stop() == 0


def test_threads_bots_the_bot_itself_and_other_channels_get_nothing(server, stub):
    parent = new_ts()
    ignored = [
        message_event("バカ", new_ts(), thread_ts=parent),
        message_event("バカ", new_ts(), subtype="bot_message", bot_id="BOTHER01"),
        message_event("バカ", new_ts(), bot_id="BBOT0001", user="UBOT0001"),
        message_event("バカ", new_ts(), channel="COTHER001"),
        message_event("<@UALICE01> has joined", new_ts(), subtype="channel_join"),
    ]
    for event in ignored:
        assert server.slack.event(event).status == 200  # acknowledged, so Slack won't retry
    sentinel = new_ts()
    server.slack.event(message_event("別の下書き", sentinel))
    wait_reply(stub, sentinel)
    for event in ignored:
        assert replies_to(stub, event["ts"]) == []


def test_a_bad_or_stale_signature_is_refused(server, stub):
    ts = new_ts()
    event = message_event("バカ", ts)
    assert server.slack.event(event, secret="not-the-secret").status == 401
    assert server.slack.event(event, timestamp=int(time.time()) - 600).status == 401
    time.sleep(0.2)
    assert replies_to(stub, ts) == []


def test_slack_rate_limits_are_waited_out(server, stub):
    stub.fail("chat.postMessage", status=429, retry_after=1)
    ts = new_ts()
    server.slack.event(message_event("バカ", ts))
    wait_reply(stub, ts)
    assert [c.status for c in stub.calls_to("chat.postMessage", ok_only=False)][-2:] == [429, 200]


def test_server_errors_and_connection_resets_are_retried(server, stub):
    stub.fail("chat.postMessage", status=503)
    stub.fail("chat.postMessage", reset=True)
    ts = new_ts()
    server.slack.event(message_event("バカ", ts))
    reply = wait_reply(stub, ts)
    assert reply.status == 200
    statuses = [c.status for c in stub.calls_to("chat.postMessage", ok_only=False)]
    assert statuses[-3:] == [503, 0, 200]


def test_a_reply_slack_keeps_refusing_is_posted_later(server, stub):
    stub.fail("chat.postMessage", status=500, times=3)  # more than the SDK retries
    ts = new_ts()
    server.slack.event(message_event("バカ", ts))
    reply = wait_reply(stub, ts, timeout=20)
    assert reply.status == 200
    assert len(replies_to(stub, ts)) == 1


def test_the_slash_command_reviews_privately(server, stub):
    answer = server.slack.command("今度コラボしませんか？", stub.response_url())
    assert answer.status == 200
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith("承認が必要です")


def test_the_slash_command_without_text_explains_itself(server, stub):
    body = server.slack.command("", stub.response_url()).json()
    assert body["response_type"] == "ephemeral" and "/social-review" in body["text"]


def test_the_message_shortcut_reviews_privately(server, stub):
    url = stub.response_url("shortcut-1")
    payload = message_shortcut(action_ids.REVIEW_SHORTCUT, "バカ", url)
    assert server.slack.interaction(payload).status == 200
    assert stub.wait_for(lambda s: s.calls_to("response_url"))
    (call,) = stub.calls_to("response_url")
    assert call.params["response_type"] == "ephemeral"
    assert call.params["replace_original"] is False
    assert "バカ" in json.dumps(call.params["blocks"], ensure_ascii=False)


def test_not_a_problem_is_recorded_updates_the_reply_and_shows_in_stats(server, stub, database_url):
    from conftest import app_env, serve_command

    ts = new_ts()
    server.slack.event(message_event("バカ", ts))
    reply = wait_reply(stub, ts)
    (button,) = [b["accessory"] for b in reply.params["blocks"] if "accessory" in b]
    reply_ts = reply_ts_of(stub, ts)
    click = button_click(button["action_id"], button["value"], "UBOB0001", reply_ts)
    assert server.slack.interaction(click).status == 200
    assert stub.wait_for(
        lambda s: "<@UBOB0001>" in json.dumps(s.messages(CHANNEL)[(CHANNEL, reply_ts)]["blocks"])
    )
    stats = subprocess.run(
        serve_command("rules", "stats", "--format", "json"),
        env=app_env(stub, database_url),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    rows = {row["rule_id"]: row for row in json.loads(stats.stdout)}
    insult = [row for rule_id, row in rows.items() if rule_id.startswith("overboard")]
    assert sum(row["dismissals"] for row in insult) == 1
    assert all(row["last_hit"] for row in insult if row["hits"])


def test_health_and_url_verification_answer(server):
    import urllib.request

    with urllib.request.urlopen(server.url + "/healthz") as response:
        assert response.status == 200
    answer = server.slack.send(
        json.dumps({"token": "t", "challenge": "abc123", "type": "url_verification"}),
        "application/json",
    )
    assert answer.status == 200 and "abc123" in answer.body
