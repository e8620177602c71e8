"""Persistent state: drafts, their findings, dismissals and the Slack replies still owed."""

from bot.store.base import (
    ClaimedDraft,
    DraftChange,
    DraftState,
    FindingRecord,
    NewFinding,
    RuleStat,
    Store,
)
from bot.store.sql import SqlStore, open_store

__all__ = [
    "ClaimedDraft",
    "DraftChange",
    "DraftState",
    "FindingRecord",
    "NewFinding",
    "RuleStat",
    "SqlStore",
    "Store",
    "open_store",
]
