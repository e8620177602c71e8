"""Message events in watched channels: new drafts, edits and deletions (every subtype is acked)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.slack.events import DeletedDraft, EditedDraft, NewDraft, classify
from bot.slack.listeners import ListenerDeps


def register(app: App, deps: ListenerDeps) -> None:
    """Handle every message event; app.message() alone would miss edits and deletions."""

    # process_before_response is on: this runs before Slack gets its 200, so a draft is in the
    # store before Slack considers it delivered, and a failure here makes Slack deliver again.
    @app.event("message")
    def on_message(event: dict[str, Any], context: BoltContext) -> None:
        change = classify(event, deps.channels, context.bot_user_id)
        # With approvals wired in, drafts go through it so requests follow their drafts.
        service = deps.approvals or deps.service
        draft_id: int | None
        match change:
            case NewDraft():
                draft_id = service.receive(change.channel, change.ts, change.user_id, change.text)
            case EditedDraft():
                draft_id = service.revise(
                    change.channel, change.ts, change.user_id, change.text, change.edited_ts
                )
            case DeletedDraft():
                draft_id = service.remove(change.channel, change.ts)
            case None:
                return
        if draft_id is not None:
            deps.sync_later(draft_id)
