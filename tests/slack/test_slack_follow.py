"""/social-follow end to end: signed requests to the real `serve --http` process, stub Slack."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, Server, app_env, free_port, serve_command
from slack_payloads import APP, CHANNEL, TEAM, SlackSender, button_click

from bot.slack import action_ids
from bot.slack.stub import StubSlack

BOSS, AUTHOR = "UBOSS0001", "UALICE01"
# The shipped rules.yaml already carries the follow policy; the test adds the approvers.
APPROVALS_SECTION = """
approvals:
  approvers: [UBOSS0001]
"""


@pytest.fixture(scope="module")
def follow_server(
    stub: StubSlack, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Run `social-review serve --http` on the shipped rules (with its follow policy) plus approvers."""
    folder = tmp_path_factory.mktemp("follow")
    rules = folder / "rules.yaml"
    rules.write_text((REPO / "rules.yaml").read_text("utf-8") + APPROVALS_SECTION, "utf-8")
    log = folder / "server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = app_env(stub, database_url, SOCIAL_REVIEW_RULES=str(rules))
    with log.open("wb") as out:
        process = subprocess.Popen(
            serve_command("serve", "--http", "--host", "127.0.0.1", "--port", str(port)),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
    server = Server(process, url, log, SlackSender(url, "test-signing-secret"))
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    server.env = env  # type: ignore[attr-defined]
    yield server
    if process.poll() is None:
        server.stop()


def slash(server: Server, text: str, user: str = AUTHOR) -> Any:
    form = {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "team_domain": "stub",
        "channel_id": CHANNEL,
        "channel_name": "social-review",
        "user_id": user,
        "user_name": user.lower(),
        "command": action_ids.FOLLOW_COMMAND,
        "text": text,
        "api_app_id": APP,
        "response_url": "http://127.0.0.1:9/unused",
        "trigger_id": "1.2.3",
    }
    return server.slack.send(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")


def opened_modal(stub: StubSlack) -> dict[str, Any]:
    assert stub.wait_for(lambda s: s.calls_to("views.open"))
    return stub.calls_to("views.open")[-1].params["view"]


def submit(server: Server, view: dict[str, Any], handle: str, kind: str, followed: str) -> Any:
    state = {
        action_ids.FOLLOW_HANDLE_BLOCK: {
            action_ids.FOLLOW_HANDLE_INPUT: {"type": "plain_text_input", "value": handle}
        },
        action_ids.FOLLOW_KIND_BLOCK: {
            action_ids.FOLLOW_KIND_INPUT: {
                "type": "static_select",
                "selected_option": {"value": kind, "text": {"type": "plain_text", "text": kind}},
            }
        },
        action_ids.FOLLOW_FOLLOWED_BLOCK: {
            action_ids.FOLLOW_FOLLOWED_INPUT: {
                "type": "radio_buttons",
                "selected_option": {"value": followed, "text": {"type": "plain_text", "text": "x"}},
            }
        },
    }
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "stub"},
        "user": {"id": AUTHOR, "username": "alice", "team_id": TEAM},
        "api_app_id": APP,
        "token": "legacy-verification-token",
        "trigger_id": "1.2.4",
        "view": {
            "id": "V00000009",
            "team_id": TEAM,
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "blocks": view["blocks"],
            "state": {"values": state},
            "hash": "1.abc",
        },
        "response_urls": [],
    }
    return server.slack.interaction(payload)


def test_social_follow_opens_a_modal_listing_the_policy_kinds(follow_server, stub):
    assert slash(follow_server, "@Rival_Co").status == 200
    view = opened_modal(stub)
    shown = json.dumps(view, ensure_ascii=False)
    assert view["callback_id"] == action_ids.FOLLOW_MODAL
    assert "@rival_co" in shown and "競合他社" in shown and "政治・宗教" in shown


def test_a_competitor_gets_the_answer_and_reason_in_place_of_the_form(follow_server, stub):
    slash(follow_server, "@rival_co")
    answer = submit(follow_server, opened_modal(stub), "@rival_co", "competitor", "no")
    assert answer.status == 200
    body = answer.json()
    assert body["response_action"] == "update"
    text = json.dumps(body["view"], ensure_ascii=False)
    assert (
        "フォローして大丈夫です" in text
        and "競合他社のフォローや、良い投稿への前向きな反応は歓迎です" in text
    )


def test_a_bad_handle_is_pointed_out_on_the_form(follow_server, stub):
    slash(follow_server, "")
    answer = submit(follow_server, opened_modal(stub), "not a handle!", "competitor", "no")
    body = answer.json()
    assert body["response_action"] == "errors"
    assert action_ids.FOLLOW_HANDLE_BLOCK in body["errors"]


def test_ask_a_manager_goes_through_the_approval_flow_and_the_audit(follow_server, stub):
    slash(follow_server, "@some_party")
    answer = submit(follow_server, opened_modal(stub), "@some_party", "political_religious", "yes")
    text = json.dumps(answer.json()["view"], ensure_ascii=False)
    assert "上長の判断が必要です" in text and f"<#{CHANNEL}>" in text

    def asked(s: StubSlack) -> list[tuple[str, dict[str, Any]]]:
        return [
            (key[1], m)
            for key, m in s.messages(CHANNEL).items()
            if "@some_party" in m["text"] and not m.get("thread_ts")
        ]

    assert stub.wait_for(asked), "no follow request in the review channel"
    ((request_ts, _),) = asked(stub)

    def approval_requests(s: StubSlack) -> list[tuple[str, dict[str, Any]]]:
        return [
            (key[1], m)
            for key, m in s.messages(CHANNEL).items()
            if m.get("thread_ts") == request_ts and m["text"].startswith("承認依頼")
        ]

    assert stub.wait_for(approval_requests), "no approval request in the thread"
    ((approval_ts, message),) = approval_requests(stub)
    shown = json.dumps(message["blocks"], ensure_ascii=False)
    assert "<@UBOSS0001>" in shown and "@some_party" in shown
    value = next(
        e["value"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_ids.APPROVE
    )
    # Only the review reply of drafts is skipped: the request is the bot's answer here.
    assert [m for m in stub.messages(CHANNEL).values() if m.get("thread_ts") == request_ts] == [
        message
    ]
    click = button_click(action_ids.APPROVE, value, BOSS, approval_ts)
    assert follow_server.slack.interaction(click).status == 200
    assert stub.wait_for(lambda s: "heavy_check_mark" in s.reactions(CHANNEL, request_ts))

    audit = subprocess.run(
        serve_command("audit", "--format", "json"),
        env=follow_server.env,  # type: ignore[attr-defined]
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(follow_server.log).parent,
    )
    assert audit.returncode == 0, audit.stderr
    rows = json.loads(audit.stdout)
    follows = [r for r in rows if r["event"] == "follow_decision"]
    assert [(r["state"], r["actor"]) for r in follows][-1] == ("ask_manager", AUTHOR)
    asked_row = follows[-1]
    assert asked_row["approval_id"] is not None and asked_row["draft_ts"] == request_ts
    events = [r["event"] for r in rows if r["approval_id"] == asked_row["approval_id"]]
    assert events[:1] == ["requested"] and "approved" in events
