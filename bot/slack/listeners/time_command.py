"""The /social-time slash command: log minutes, see today and this week, undo the last entry."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.services.time_budget import (
    MAX_ENTRY_MINUTES,
    BadTime,
    LogTime,
    ShowTime,
    TimeHelp,
    UndoTime,
    parse_time_command,
)
from bot.slack import blocks
from bot.slack.action_ids import TIME_COMMAND
from bot.slack.listeners import ListenerDeps
from bot.slack.text import decode_slack_text


def register(app: App, deps: ListenerDeps) -> None:
    """Answer /social-time privately, right in the acknowledgement."""
    service = deps.time
    assert service is not None

    @app.command(TIME_COMMAND)
    def on_time(ack: Ack, command: dict[str, Any]) -> None:
        locale = deps.service.locale
        user = str(command.get("user_id") or "")
        parsed = parse_time_command(decode_slack_text(command.get("text") or ""))
        match parsed:
            case LogTime():
                summary = service.log(user, parsed.minutes, parsed.note)
                message = blocks.time_logged(parsed.minutes, parsed.note, summary, locale)
            case UndoTime():
                undone = service.undo(user)
                message = blocks.time_undone(undone, service.summary(user), locale)
            case ShowTime():
                message = blocks.time_summary(service.summary(user), locale)
            case TimeHelp():
                message = blocks.time_usage(locale)
            case BadTime():
                message = blocks.time_problem(
                    parsed.problem, parsed.text, locale, MAX_ENTRY_MINUTES
                )
        ack(response_type="ephemeral", **message.as_kwargs())
