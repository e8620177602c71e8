"""Approve / Reject buttons and modals, the App Home tab, and user-group membership changes."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services.approvals import ApprovalService, ClickResult
from bot.slack import action_ids, blocks
from bot.slack.listeners import ListenerDeps

log = logging.getLogger(__name__)


def _approval_id(action: dict[str, Any]) -> int | None:
    value = str(action.get("value") or "")
    return int(value) if value.isdigit() else None


def _origin(body: dict[str, Any]) -> str:
    """Return where a click came from: "C…:ts" for a message, "home" for the App Home tab."""
    container = body.get("container") or {}
    if container.get("type") == "view":
        return "home"
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or ""
    return f"{channel}:{container.get('message_ts') or ''}"


def _tell(client: WebClient, service: ApprovalService, user: str, origin: str, text: str) -> None:
    """Answer only the person who clicked: an ephemeral note, or their refreshed App Home."""
    try:
        if origin == "home" or not origin.split(":", 1)[0]:
            home = service.home(user, banner=text)
            client.views_publish(user_id=user, view=blocks.home_view(home))
        else:
            client.chat_postEphemeral(channel=origin.split(":", 1)[0], user=user, text=text)
    except SlackApiError as err:
        # The decision is already stored; a lost courtesy note must not make Slack retry it.
        log.warning("could not tell %s about their click: %s", user, err.response.get("error"))


def register(app: App, deps: ListenerDeps) -> None:
    """Attach the approval listeners (only when the app is wired with an ApprovalService)."""
    service = deps.approvals
    if service is None:
        return

    def after(result: ClickResult) -> None:
        if result.ok and result.approval is not None and deps.sync_approval_later:
            deps.sync_approval_later(result.approval.id)

    @app.action(action_ids.APPROVE)
    def on_approve(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        approval_id = _approval_id(action)
        if approval_id is None:
            return
        user = body["user"]["id"]
        result = service.approve(approval_id, user)
        after(result)
        _tell(client, service, user, _origin(body), blocks.click_note(result))

    def open_modal(kind: str, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
        approval_id = _approval_id(action)
        if approval_id is None:
            return
        user = body["user"]["id"]
        refused = service.precheck(approval_id, user)
        if refused is not None:
            _tell(client, service, user, _origin(body), blocks.click_note(refused))
            return
        approval = service.store.approval(approval_id)
        view = blocks.decision_modal(approval, kind, service.locale, _origin(body))
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(action_ids.APPROVE_WITH_COMMENT)
    def on_approve_with_comment(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        open_modal("approve", body, action, client)

    @app.action(action_ids.REJECT)
    def on_reject(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        open_modal("reject", body, action, client)

    def submitted(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: Any, kind: str
    ) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        approval_id = meta.get("approval")
        if not isinstance(approval_id, int):
            ack()
            return
        values = (view.get("state") or {}).get("values") or {}
        note = ((values.get(action_ids.NOTE_BLOCK) or {}).get(action_ids.NOTE_INPUT) or {}).get(
            "value"
        )
        user = body["user"]["id"]
        if kind == "approve":
            result = service.approve(approval_id, user, note)
        else:
            result = service.reject(approval_id, user, note)
        text = blocks.click_note(result)
        if result.ok:
            ack()
        else:
            # Someone else was faster (or the draft changed): say so in place of the form.
            ack(response_action="update", view=blocks.result_modal(text, service.locale))
        after(result)
        if result.ok and meta.get("origin") == "home":
            _tell(client, service, user, "home", text)

    @app.view(action_ids.APPROVE_MODAL)
    def on_approve_modal(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        submitted(ack, body, view, client, "approve")

    @app.view(action_ids.REJECT_MODAL)
    def on_reject_modal(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        submitted(ack, body, view, client, "reject")

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        client.views_publish(user_id=user, view=blocks.home_view(service.home(user)))

    @app.event("subteam_members_changed")
    def on_members_changed(event: dict[str, Any]) -> None:
        service.member_changes(str(event.get("subteam_id") or ""))
