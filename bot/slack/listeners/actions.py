"""Buttons on the bot's replies: "Not a problem" on a finding."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.slack.action_ids import DISMISS_FINDING
from bot.slack.listeners import ListenerDeps


def register(app: App, deps: ListenerDeps) -> None:
    """Record who dismissed which finding, then refresh the reply."""

    @app.action(DISMISS_FINDING)
    def on_dismiss(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        value = str(action.get("value") or "")
        if not value.isdigit():
            return  # not a button we rendered
        draft_id = deps.service.dismiss(int(value), body["user"]["id"])
        if draft_id is not None:
            deps.sync_later(draft_id)
