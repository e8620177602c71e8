"""Read Slack message events as what they mean for drafts: new, edited, deleted or not ours."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.slack.text import decode_slack_text

# Subtypes that are still a person's own top-level message.
_PERSON_SUBTYPES = {None, "file_share"}


@dataclass(frozen=True, slots=True)
class NewDraft:
    """A person posted a draft at the top level of a watched channel."""

    channel: str
    ts: str
    user_id: str | None
    text: str


@dataclass(frozen=True, slots=True)
class EditedDraft:
    """A draft's text may have changed (link previews also arrive this way)."""

    channel: str
    ts: str
    user_id: str | None
    text: str
    edited_ts: str


@dataclass(frozen=True, slots=True)
class DeletedDraft:
    """A draft was deleted (or replaced by a tombstone because its thread has replies)."""

    channel: str
    ts: str


DraftEvent = NewDraft | EditedDraft | DeletedDraft


def _is_person_top_level(message: Mapping[str, Any], bot_user_id: str | None) -> bool:
    if message.get("subtype") not in _PERSON_SUBTYPES:
        return False
    if message.get("bot_id") or message.get("bot_profile"):
        return False
    if bot_user_id is not None and message.get("user") == bot_user_id:
        return False
    thread_ts = message.get("thread_ts")
    return thread_ts is None or thread_ts == message.get("ts")


def classify(
    event: Mapping[str, Any], watched: frozenset[str], bot_user_id: str | None
) -> DraftEvent | None:
    """Return what a message event means for drafts, or None when the bot should ignore it."""
    channel = event.get("channel")
    if channel not in watched:
        return None
    subtype = event.get("subtype")

    if subtype == "message_deleted":
        previous = event.get("previous_message") or {}
        if previous and not _is_person_top_level(previous, bot_user_id):
            return None
        ts = event.get("deleted_ts") or previous.get("ts")
        return DeletedDraft(channel, ts) if ts else None

    if subtype == "message_changed":
        message = event.get("message") or {}
        ts = message.get("ts")
        if not ts:
            return None
        if message.get("subtype") == "tombstone":
            return DeletedDraft(channel, ts)
        if not _is_person_top_level(message, bot_user_id):
            return None
        previous = event.get("previous_message") or {}
        if previous.get("text") == message.get("text"):
            return None  # a link preview or other decoration: same words, nothing to redo
        text = decode_slack_text(message.get("text") or "")
        edited_ts = (message.get("edited") or {}).get("ts") or event.get("event_ts") or ts
        return EditedDraft(channel, ts, message.get("user"), text, edited_ts)

    if not _is_person_top_level(event, bot_user_id):
        return None
    text = decode_slack_text(event.get("text") or "")
    if not text or not event.get("ts"):
        return None
    return NewDraft(channel, event["ts"], event.get("user"), text)
