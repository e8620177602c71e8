"""Approvals end to end: signed block_actions / view_submission payloads, real Bolt, stub Slack."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from conftest import SIGNING_SECRET
from slack_payloads import (
    APP,
    CHANNEL,
    TEAM,
    SlackSender,
    button_click,
    changed_event,
    deleted_event,
    message_event,
    new_ts,
)

from bot.config import SlackConfig
from bot.rules import load_rules
from bot.slack import action_ids
from bot.slack.stub import StubSlack

BOSS, BOSS2, AUTHOR, STRANGER = "UBOSS0001", "UBOSS0002", "UALICE01", "USTRANGER1"
COLLAB = "今度コラボしませんか？"

RULES = """\
version: 1
locale: ja
rules:
  - id: collaboration.proposal
    category: collaboration
    requires_approval: true
    guideline: G5
    message: コラボの話は上長の承認が必要です
    terms: [コラボ]
    examples: {match: [コラボしませんか], no_match: [新商品です]}
approvals:
  approvers: [UBOSS0001, UBOSS0002]
  usergroup: SMANAGERS
  required: {required}
"""


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = datetime(2025, 4, 1, 1, 0, tzinfo=UTC)  # Tuesday 10:00 in Tokyo

    def __call__(self) -> datetime:
        return self.now


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class App:
    """The app wired by build_runtime, served over real HTTP on 127.0.0.1."""

    def __init__(self, stub: StubSlack, db: str, rules_path: Path, clock: FakeClock) -> None:
        from bot.app import build_runtime

        config = SlackConfig(
            mode="http",
            bot_token=stub.token,
            signing_secret=SIGNING_SECRET,
            app_token=None,
            channels=frozenset({CHANNEL}),
            rules_path=str(rules_path),
            database_url=db,
            api_url=stub.api_url,
        )
        self.clock = clock
        self.runtime = build_runtime(config, load_rules(rules_path), clock=clock)
        self.httpd = make_server(
            "127.0.0.1", 0, self.runtime.wsgi(), server_class=_Server, handler_class=_Quiet
        )
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.slack = SlackSender(f"http://127.0.0.1:{self.httpd.server_port}", SIGNING_SECRET)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.runtime.close()


def make_app(stub: StubSlack, tmp_path: Path, required: int = 1) -> App:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace("{required}", str(required)), "utf-8")
    return App(stub, f"sqlite:///{tmp_path / 'app.db'}", rules, FakeClock())


@pytest.fixture
def app(stub: StubSlack, tmp_path: Path) -> Iterator[App]:
    stub.usergroups["SMANAGERS"] = [BOSS2]
    running = make_app(stub, tmp_path)
    yield running
    running.close()


def request_messages(stub: StubSlack, draft_ts: str) -> list[tuple[str, dict[str, Any]]]:
    """Return (ts, message) of the approval requests in a draft's thread."""
    return [
        (key[1], m)
        for key, m in stub.messages(CHANNEL).items()
        if m.get("thread_ts") == draft_ts and m["text"].startswith("承認依頼")
    ]


def buttons(message: dict[str, Any]) -> dict[str, str]:
    return {
        e["action_id"]: e["value"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }


def thread_texts(stub: StubSlack, draft_ts: str) -> list[str]:
    return [m["text"] for m in stub.messages(CHANNEL).values() if m.get("thread_ts") == draft_ts]


def post_collab(app: App, stub: StubSlack, text: str = COLLAB) -> tuple[str, str, str]:
    """Post a draft needing approval; return (draft ts, request ts, approval id)."""
    ts = new_ts()
    assert app.slack.event(message_event(text, ts)).status == 200
    assert stub.wait_for(lambda s: request_messages(s, ts)), "no approval request"
    ((request_ts, message),) = request_messages(stub, ts)
    return ts, request_ts, buttons(message)[action_ids.APPROVE]


def click(app: App, action: str, value: str, user: str, message_ts: str):
    return app.slack.interaction(button_click(action, value, user, message_ts))


def ephemerals_to(stub: StubSlack, user: str) -> list[str]:
    return [
        c.params["text"] for c in stub.calls_to("chat.postEphemeral") if c.params["user"] == user
    ]


def submit(app: App, user: str, view: dict[str, Any], note: str | None):
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "stub"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM},
        "api_app_id": APP,
        "token": "legacy-verification-token",
        "trigger_id": "1.2.4",
        "view": {
            "id": "V00000001",
            "team_id": TEAM,
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "blocks": view["blocks"],
            "state": {
                "values": {
                    action_ids.NOTE_BLOCK: {
                        action_ids.NOTE_INPUT: {"type": "plain_text_input", "value": note}
                    }
                }
            },
            "hash": "1.abc",
        },
        "response_urls": [],
    }
    return app.slack.interaction(payload)


def test_one_tap_approve_updates_the_request_reacts_and_tells_the_author(app, stub):
    ts, request_ts, approval = post_collab(app, stub)
    (request,) = [m for _, m in request_messages(stub, ts)]
    shown = json.dumps(request["blocks"], ensure_ascii=False)
    assert "<@UALICE01>" in shown and "今度コラボしませんか" in shown
    assert "<!subteam^SMANAGERS>" in shown and "<@UBOSS0001>" in shown
    assert "コラボの話は上長の承認が必要です" in shown and f"p{ts.replace('.', '')}" in shown
    assert click(app, action_ids.APPROVE, approval, BOSS, request_ts).status == 200
    assert stub.wait_for(lambda s: "heavy_check_mark" in s.reactions(CHANNEL, ts))
    assert stub.wait_for(lambda s: not buttons(s.messages(CHANNEL)[(CHANNEL, request_ts)]))
    updated = json.dumps(stub.messages(CHANNEL)[(CHANNEL, request_ts)]["blocks"])
    assert "<@UBOSS0001>" in updated and "<!date^" in updated
    assert "raised_hand" not in stub.reactions(CHANNEL, ts)
    assert any("<@UALICE01>" in t and "承認しました" in t for t in thread_texts(stub, ts))
    assert ephemerals_to(stub, BOSS) == ["承認しました。"]


def test_reject_opens_a_modal_and_the_reason_reaches_the_thread(app, stub):
    ts, request_ts, approval = post_collab(app, stub)
    click(app, action_ids.REJECT, approval, BOSS2, request_ts)
    assert stub.wait_for(lambda s: s.calls_to("views.open"))
    view = stub.calls_to("views.open")[-1].params["view"]
    assert view["callback_id"] == action_ids.REJECT_MODAL
    assert submit(app, BOSS2, view, "来期に改めて").status == 200
    assert stub.wait_for(lambda s: "x" in s.reactions(CHANNEL, ts))
    assert stub.wait_for(lambda s: any("来期に改めて" in t for t in thread_texts(s, ts)))
    final = stub.messages(CHANNEL)[(CHANNEL, request_ts)]
    assert not buttons(final) and "来期に改めて" in json.dumps(final["blocks"], ensure_ascii=False)


def test_approve_with_a_comment_records_the_comment(app, stub):
    ts, request_ts, approval = post_collab(app, stub)
    click(app, action_ids.APPROVE_WITH_COMMENT, approval, BOSS, request_ts)
    assert stub.wait_for(lambda s: s.calls_to("views.open"))
    view = stub.calls_to("views.open")[-1].params["view"]
    submit(app, BOSS, view, "先方の広報にも確認済み")
    assert stub.wait_for(lambda s: any("先方の広報にも確認済み" in t for t in thread_texts(s, ts)))
    assert app.runtime.store.approval(int(approval)).note == "先方の広報にも確認済み"


def test_a_non_approver_and_the_author_are_told_privately_and_nothing_changes(app, stub):
    _, request_ts, approval = post_collab(app, stub)
    click(app, action_ids.APPROVE, approval, STRANGER, request_ts)
    click(app, action_ids.APPROVE, approval, AUTHOR, request_ts)
    click(app, action_ids.REJECT, approval, STRANGER, request_ts)
    assert ephemerals_to(stub, STRANGER) == ["あなたはこの依頼の承認者ではありません。"] * 2
    assert ephemerals_to(stub, AUTHOR) == ["自分の下書きは承認・却下できません。"]
    assert stub.calls_to("views.open") == []
    assert app.runtime.store.approval(int(approval)).state == "pending"


def test_a_second_click_after_the_decision_is_told_who_decided(app, stub):
    _, request_ts, approval = post_collab(app, stub)
    click(app, action_ids.APPROVE, approval, BOSS, request_ts)
    click(app, action_ids.APPROVE, approval, BOSS, request_ts)  # a stale message's button
    click(app, action_ids.APPROVE, approval, BOSS2, request_ts)
    assert ephemerals_to(stub, BOSS) == [
        "承認しました。",
        "この依頼は <@UBOSS0001> さんが承認済みです。",
    ]
    assert ephemerals_to(stub, BOSS2) == ["この依頼は <@UBOSS0001> さんが承認済みです。"]
    decided = [r for r in app.runtime.store.audit(None) if r.event == "approved"]
    assert len(decided) == 1


def test_two_managers_clicking_at_the_same_instant_get_one_decision(app, stub):
    _, request_ts, approval = post_collab(app, stub)
    barrier = threading.Barrier(2)

    def tap(user: str) -> None:
        barrier.wait()
        click(app, action_ids.APPROVE, approval, user, request_ts)

    threads = [threading.Thread(target=tap, args=(u,)) for u in (BOSS, BOSS2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    notes = ephemerals_to(stub, BOSS) + ephemerals_to(stub, BOSS2)
    assert sorted(n == "承認しました。" for n in notes) == [False, True]
    assert len([r for r in app.runtime.store.audit(None) if r.event == "approved"]) == 1


def test_a_modal_submitted_after_someone_else_decided_says_so_in_the_modal(app, stub):
    _, request_ts, approval = post_collab(app, stub)
    click(app, action_ids.REJECT, approval, BOSS2, request_ts)
    assert stub.wait_for(lambda s: s.calls_to("views.open"))
    view = stub.calls_to("views.open")[-1].params["view"]
    click(app, action_ids.APPROVE, approval, BOSS, request_ts)
    answer = submit(app, BOSS2, view, "だめ")
    assert answer.status == 200
    body = answer.json()
    assert body["response_action"] == "update"
    assert "<@UBOSS0001> さんが承認済み" in json.dumps(body["view"], ensure_ascii=False)
    assert app.runtime.store.approval(int(approval)).state == "approved"


def test_editing_after_approval_makes_it_stale_and_asks_again(app, stub):
    ts, request_ts, approval = post_collab(app, stub)
    click(app, action_ids.APPROVE, approval, BOSS, request_ts)
    assert stub.wait_for(lambda s: "heavy_check_mark" in s.reactions(CHANNEL, ts))
    app.slack.event(changed_event(ts, COLLAB + "来月どうでしょう", COLLAB))
    assert stub.wait_for(lambda s: len(request_messages(s, ts)) == 2)
    assert stub.wait_for(lambda s: any("編集されたため" in t for t in thread_texts(s, ts)))
    assert stub.wait_for(lambda s: s.reactions(CHANNEL, ts) >= {"raised_hand"})
    assert stub.wait_for(lambda s: "heavy_check_mark" not in s.reactions(CHANNEL, ts))
    click(app, action_ids.APPROVE, approval, BOSS2, request_ts)
    assert ephemerals_to(stub, BOSS2)[-1].startswith("下書きが編集されたため")
    new = next(m for t, m in request_messages(stub, ts) if t != request_ts)
    assert "来月どうでしょう" in json.dumps(new["blocks"], ensure_ascii=False)
    assert buttons(new)[action_ids.APPROVE] != approval


def test_deleting_the_draft_withdraws_the_request(app, stub):
    ts, request_ts, approval = post_collab(app, stub)
    app.slack.event(deleted_event(ts, COLLAB))
    assert stub.wait_for(
        lambda s: (
            "削除されたため"
            in json.dumps(s.messages(CHANNEL).get((CHANNEL, request_ts)), ensure_ascii=False)
        )
    )
    click(app, action_ids.APPROVE, approval, BOSS, request_ts)
    assert ephemerals_to(stub, BOSS) == ["下書きが削除されたため、この依頼は取り下げられました。"]


def test_waiting_requests_are_reannounced_then_expire_visibly(app, stub):
    ts, request_ts, approval = post_collab(app, stub)
    approvals = app.runtime.approvals
    assert approvals.sweep(app.clock.now + timedelta(hours=3)) == []
    assert approvals.sweep(app.clock.now + timedelta(hours=4)) == [int(approval)]
    assert stub.wait_for(lambda s: any("まだ承認待ち" in t for t in thread_texts(s, ts)))
    reminder = [t for t in thread_texts(stub, ts) if "まだ承認待ち" in t]
    assert len(reminder) == 1 and "<@UBOSS0001>" in reminder[0]
    assert approvals.sweep(app.clock.now + timedelta(days=3)) == [int(approval)]
    assert stub.wait_for(
        lambda s: any("期限切れ" in t and "<@UALICE01>" in t for t in thread_texts(s, ts))
    )
    assert stub.wait_for(lambda s: not buttons(s.messages(CHANNEL)[(CHANNEL, request_ts)]))
    assert stub.wait_for(lambda s: "hourglass" in s.reactions(CHANNEL, ts))
    events = [r.event for r in app.runtime.store.audit(None)]
    assert events == ["requested", "reminded", "expired"]


def test_a_failing_user_group_lookup_falls_back_to_the_listed_approvers(app, stub):
    stub.usergroups.clear()  # usergroups.users.list answers no_such_subteam
    _, request_ts, approval = post_collab(app, stub)
    click(app, action_ids.APPROVE, approval, BOSS2, request_ts)
    assert ephemerals_to(stub, BOSS2) == ["承認しました。"]  # listed, so still an approver
    assert stub.calls_to("usergroups.users.list", ok_only=True)
    assert app.runtime.store.approval(int(approval)).state == "approved"


def test_a_group_member_approves_and_a_membership_change_is_picked_up(app, stub):
    stub.usergroups["SMANAGERS"] = ["UGROUP001"]
    _, request_ts, approval = post_collab(app, stub)
    app.slack.event(
        {"type": "subteam_members_changed", "subteam_id": "SMANAGERS", "added_users": []}
    )
    click(app, action_ids.APPROVE, approval, "UGROUP001", request_ts)
    assert ephemerals_to(stub, "UGROUP001") == ["承認しました。"]


def test_the_home_tab_shows_approvers_their_queue_with_buttons(app, stub):
    _, request_ts, approval = post_collab(app, stub)
    home = {"type": "app_home_opened", "user": BOSS, "channel": "D0001", "tab": "home"}
    assert app.slack.event(home).status == 200
    assert stub.wait_for(lambda s: s.calls_to("views.publish"))
    view = stub.calls_to("views.publish")[-1].params["view"]
    actions = [b for b in view["blocks"] if b["type"] == "actions"]
    assert [e["value"] for e in actions[0]["elements"]] == [approval] * 3
    payload = button_click(action_ids.APPROVE, approval, BOSS, request_ts)
    payload["container"] = {"type": "view", "view_id": "V0HOME"}
    app.slack.interaction(payload)
    assert app.runtime.store.approval(int(approval)).state == "approved"
    refreshed = stub.calls_to("views.publish")[-1].params["view"]
    assert "承認しました" in json.dumps(refreshed, ensure_ascii=False)


def test_the_author_sees_their_drafts_status_on_the_home_tab(app, stub):
    post_collab(app, stub)
    app.slack.event({"type": "app_home_opened", "user": AUTHOR, "tab": "home"})
    assert stub.wait_for(
        lambda s: any(c.params["user_id"] == AUTHOR for c in s.calls_to("views.publish"))
    )
    view = [c for c in stub.calls_to("views.publish") if c.params["user_id"] == AUTHOR][-1]
    text = json.dumps(view.params["view"], ensure_ascii=False)
    assert "承認待ち" in text and "actions" not in text


def test_two_of_two_approvals_show_progress(stub, tmp_path):
    stub.usergroups["SMANAGERS"] = []
    app = make_app(stub, tmp_path, required=2)
    try:
        ts, request_ts, approval = post_collab(app, stub)
        click(app, action_ids.APPROVE, approval, BOSS, request_ts)
        assert stub.wait_for(
            lambda s: "1/2" in json.dumps(s.messages(CHANNEL)[(CHANNEL, request_ts)]["blocks"])
        )
        assert buttons(stub.messages(CHANNEL)[(CHANNEL, request_ts)])
        click(app, action_ids.APPROVE, approval, BOSS2, request_ts)
        assert stub.wait_for(lambda s: "heavy_check_mark" in s.reactions(CHANNEL, ts))
    finally:
        app.close()


@pytest.fixture(autouse=True)
def _fresh_stub(stub: StubSlack) -> Iterator[None]:
    stub.reset()
    yield
    stub.usergroups.clear()


def _synced(approval: Any) -> bool:
    return approval is not None and approval.synced_revision == approval.revision


def wait_until(predicate: Any, timeout: float = 10.0) -> bool:
    """Poll predicate until it holds or timeout passes; return whether it held."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _spawn(stub: StubSlack, db: str, rules: Path, log: Path):
    import subprocess
    import time
    import urllib.request

    from conftest import Server, app_env, free_port, serve_command

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            serve_command("serve", "--http", "--host", "127.0.0.1", "--port", str(port)),
            env=app_env(stub, db, SOCIAL_REVIEW_RULES=str(rules)),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return Server(process, url, log, SlackSender(url, SIGNING_SECRET))
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(log.read_text())


def test_a_pending_request_survives_kill_9_and_its_old_buttons_still_work(stub, tmp_path):
    import subprocess

    from conftest import app_env, serve_command

    stub.usergroups["SMANAGERS"] = []
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace("{required}", "1"), "utf-8")
    db = f"sqlite:///{tmp_path / 'restart.db'}"
    first = _spawn(stub, db, rules, tmp_path / "server.log")
    ts = new_ts()
    first.slack.event(message_event(COLLAB, ts))
    assert stub.wait_for(lambda s: request_messages(s, ts))
    ((request_ts, message),) = request_messages(stub, ts)
    approval_id = int(buttons(message)[action_ids.APPROVE])
    # Kill it once Slack is up to date (a kill mid-sync leaves a claim that expires later).
    from bot.store import open_store

    reader = open_store(db, datetime.now(UTC))
    try:
        assert wait_until(lambda: _synced(reader.approval(approval_id)))
    finally:
        reader.close()
    first.process.kill()  # SIGKILL: no shutdown of any kind
    first.process.wait(timeout=10)

    second = _spawn(stub, db, rules, tmp_path / "server.log")
    try:
        value = buttons(message)[action_ids.APPROVE]
        click = button_click(action_ids.APPROVE, value, BOSS, request_ts)
        assert second.slack.interaction(click).status == 200
        assert ephemerals_to(stub, BOSS) == ["承認しました。"]
        assert stub.wait_for(lambda s: "heavy_check_mark" in s.reactions(CHANNEL, ts))
        audit = subprocess.run(
            serve_command("audit", "--format", "json"),
            env=app_env(stub, db, SOCIAL_REVIEW_RULES=str(rules)),
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        rows = json.loads(audit.stdout)
        assert [(r["event"], r["actor"]) for r in rows] == [
            ("requested", AUTHOR),
            ("approve", BOSS),
            ("approved", BOSS),
        ]
        csv_out = subprocess.run(
            serve_command("audit", "--since", "2000-01-01"),
            env=app_env(stub, db),
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.splitlines()
        assert csv_out[0].startswith("at,event,approval_id,actor")
        assert len(csv_out) == 4
    finally:
        assert second.stop() == 0
