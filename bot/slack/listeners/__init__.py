"""Bolt listeners, one module per kind, each with an explicit register(app, deps)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import App

from bot.services.review import DraftReviewService


@dataclass(frozen=True)
class ListenerDeps:
    """What listeners are given: the service, the watched channels, and a way to sync later."""

    service: DraftReviewService
    channels: frozenset[str]
    sync_later: Callable[[int], None]


def register(app: App, deps: ListenerDeps) -> None:
    """Attach every listener of the app."""
    from bot.slack.listeners import actions, commands, messages, shortcuts

    messages.register(app, deps)
    commands.register(app, deps)
    shortcuts.register(app, deps)
    actions.register(app, deps)
