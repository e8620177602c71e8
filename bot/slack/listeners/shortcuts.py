"""The "Review this draft" message shortcut: a private review of any message."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack import blocks
from bot.slack.action_ids import REVIEW_SHORTCUT
from bot.slack.listeners import ListenerDeps
from bot.slack.text import decode_slack_text


def register(app: App, deps: ListenerDeps) -> None:
    """Review the message the shortcut was used on and answer only the person who asked."""

    @app.shortcut(REVIEW_SHORTCUT)
    def on_shortcut(ack: Ack, shortcut: dict[str, Any], respond: Respond) -> None:
        ack()
        locale = deps.service.locale
        text = decode_slack_text((shortcut.get("message") or {}).get("text") or "")
        if not text:
            message = blocks.empty_message(locale)
        else:
            message = blocks.private_check(deps.service.check(text), locale)
        respond(response_type="ephemeral", replace_original=False, **message.as_kwargs())
