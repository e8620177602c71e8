"""manifest.yaml asks for exactly what the code registers and uses."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.slack import action_ids

MANIFEST = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "manifest.yaml").read_text("utf-8")
)


def test_the_manifest_names_the_command_and_shortcut_the_app_listens_for():
    features = MANIFEST["features"]
    assert [c["command"] for c in features["slash_commands"]] == [
        action_ids.SLASH_COMMAND,
        action_ids.TIME_COMMAND,
        action_ids.FOLLOW_COMMAND,
    ]
    assert [(s["type"], s["callback_id"]) for s in features["shortcuts"]] == [
        ("message", action_ids.REVIEW_SHORTCUT)
    ]


def test_the_manifest_asks_for_exactly_the_scopes_and_events_used():
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == [
        "channels:history",
        "chat:write",
        "commands",
        "files:write",
        "groups:history",
        "reactions:write",
        "usergroups:read",
    ]
    events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert sorted(events) == [
        "app_home_opened",
        "message.channels",
        "message.groups",
        "subteam_members_changed",
    ]
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True


def test_the_manifest_turns_on_the_home_tab_the_app_publishes():
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
