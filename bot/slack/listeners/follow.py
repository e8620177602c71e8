"""The /social-follow command: a modal asks the kind of account; the answer states the policy."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.policy.follow import normalize_handle
from bot.services.follow import FollowService
from bot.slack import action_ids, blocks
from bot.slack.listeners import ListenerDeps
from bot.slack.text import decode_slack_text


def _value(values: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    return (values.get(block) or {}).get(action) or {}


def register(app: App, deps: ListenerDeps) -> None:
    """Attach /social-follow and its modal (only when wired with a FollowService)."""
    service: FollowService | None = deps.follow
    if service is None:
        return

    @app.command(action_ids.FOLLOW_COMMAND)
    def on_follow(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        locale = service.locale
        if service.policy is None:
            ack(response_type="ephemeral", text=blocks.ft(locale, "no_policy"))
            return
        ack()
        typed = decode_slack_text(command.get("text") or "").split()
        handle = normalize_handle(typed[0]) if typed else None
        view = blocks.follow_modal(
            handle or "", service.kinds(), locale, str(command.get("channel_id") or "")
        )
        client.views_open(trigger_id=command["trigger_id"], view=view)

    @app.view(action_ids.FOLLOW_MODAL)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        locale = service.locale
        values = (view.get("state") or {}).get("values") or {}
        typed = _value(values, action_ids.FOLLOW_HANDLE_BLOCK, action_ids.FOLLOW_HANDLE_INPUT)
        handle = normalize_handle(str(typed.get("value") or ""))
        if handle is None:
            ack(
                response_action="errors",
                errors={action_ids.FOLLOW_HANDLE_BLOCK: blocks.ft(locale, "bad_handle")},
            )
            return
        kind = _value(values, action_ids.FOLLOW_KIND_BLOCK, action_ids.FOLLOW_KIND_INPUT)
        followed = _value(
            values, action_ids.FOLLOW_FOLLOWED_BLOCK, action_ids.FOLLOW_FOLLOWED_INPUT
        )
        kind_id = str((kind.get("selected_option") or {}).get("value") or "unknown")
        followed_us = (followed.get("selected_option") or {}).get("value") == "yes"
        meta = json.loads(view.get("private_metadata") or "{}")
        answer = service.answer(
            handle, kind_id, followed_us, body["user"]["id"], meta.get("channel") or None
        )
        ack(response_action="update", view=blocks.follow_result_modal(answer))
        if answer.approval_id is not None and deps.sync_approval_later is not None:
            deps.sync_approval_later(answer.approval_id)
