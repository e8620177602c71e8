"""Bolt listeners, one module per kind, each with an explicit register(app, deps)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import App

from bot.services.approvals import ApprovalService
from bot.services.follow import FollowService
from bot.services.review import DraftReviewService
from bot.services.time_budget import TimeBudgetService


@dataclass(frozen=True)
class ListenerDeps:
    """What listeners are given: the service, the watched channels, and a way to sync later."""

    service: DraftReviewService
    channels: frozenset[str]
    sync_later: Callable[[int], None]
    time: TimeBudgetService | None = None  # /social-time (issue 5)
    approvals: ApprovalService | None = None  # manager approval (issue 4)
    sync_approval_later: Callable[[int], None] | None = None
    follow: FollowService | None = None  # /social-follow (issue 6)


def register(app: App, deps: ListenerDeps) -> None:
    """Attach every listener of the app."""
    from bot.slack.listeners import actions, commands, messages, shortcuts

    messages.register(app, deps)
    commands.register(app, deps)
    shortcuts.register(app, deps)
    actions.register(app, deps)
    if deps.approvals is not None:
        from bot.slack.listeners import approvals

        approvals.register(app, deps)
    if deps.follow is not None:
        from bot.slack.listeners import follow

        follow.register(app, deps)
    if deps.time is not None:
        from bot.slack.listeners import time_command

        time_command.register(app, deps)
