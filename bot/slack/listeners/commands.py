"""The /social-review slash command: check a draft privately before posting it."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.slack import blocks
from bot.slack.action_ids import SLASH_COMMAND
from bot.slack.listeners import ListenerDeps
from bot.slack.text import decode_slack_text


def register(app: App, deps: ListenerDeps) -> None:
    """Answer the slash command with an ephemeral review, right in the acknowledgement."""

    @app.command(SLASH_COMMAND)
    def on_command(ack: Ack, command: dict[str, Any]) -> None:
        locale = deps.service.locale
        text = decode_slack_text(command.get("text") or "")
        if not text:
            message = blocks.usage(locale)
        else:
            message = blocks.private_check(deps.service.check(text), locale)
        ack(response_type="ephemeral", **message.as_kwargs())
