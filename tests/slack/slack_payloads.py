"""Request bodies shaped like Slack's documented payloads, and a client that signs them."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from bot.slack.stub import sign

TEAM = "T00000001"
APP = "A00000001"
CHANNEL = "CREVIEW01"
_ts = itertools.count(1)
_event_ids = itertools.count(1)


def new_ts() -> str:
    """Return a fresh message ts, unique within the test run."""
    return f"{1700000000 + next(_ts)}.{next(_ts):06d}"


def event_callback(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """Wrap an event in the Events API envelope."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "api_app_id": APP,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM, "user_id": "UBOT0001", "is_bot": True, "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": False,
    }


def message_event(text: str, ts: str, **overrides: Any) -> dict[str, Any]:
    """Return a message.channels event posted by a person."""
    event = {
        "type": "message",
        "channel": CHANNEL,
        "user": "UALICE01",
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
        "team": TEAM,
    }
    event.update(overrides)
    return event


def changed_event(ts: str, new_text: str, old_text: str, edited: bool = True) -> dict[str, Any]:
    """Return the message_changed event for an edit (or, with edited=False, a link preview)."""
    event_ts = new_ts()
    message: dict[str, Any] = {"type": "message", "user": "UALICE01", "text": new_text, "ts": ts}
    if edited:
        message["edited"] = {"user": "UALICE01", "ts": event_ts}
    else:
        message["attachments"] = [{"from_url": "https://example.com", "title": "Example"}]
    return {
        "type": "message",
        "subtype": "message_changed",
        "channel": CHANNEL,
        "hidden": True,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": "channel",
        "message": message,
        "previous_message": {"type": "message", "user": "UALICE01", "text": old_text, "ts": ts},
    }


def deleted_event(ts: str, text: str) -> dict[str, Any]:
    """Return the message_deleted event for a draft without replies."""
    event_ts = new_ts()
    return {
        "type": "message",
        "subtype": "message_deleted",
        "channel": CHANNEL,
        "hidden": True,
        "deleted_ts": ts,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": "channel",
        "previous_message": {"type": "message", "user": "UALICE01", "text": text, "ts": ts},
    }


@dataclass
class Answer:
    """An HTTP answer from the app."""

    status: int
    body: str

    def json(self) -> Any:
        """Return the body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class SlackSender:
    """Sends signed requests to the app as Slack would."""

    url: str
    signing_secret: str

    def send(
        self,
        body: str,
        content_type: str,
        retry_num: int | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
    ) -> Answer:
        """POST body to /slack/events, signed with secret (the real one by default)."""
        headers = {"Content-Type": content_type}
        headers.update(sign(secret or self.signing_secret, body, timestamp))
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        request = urllib.request.Request(
            self.url + "/slack/events", data=body.encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Answer(response.status, response.read().decode())
        except urllib.error.HTTPError as err:
            return Answer(err.code, err.read().decode())

    def event(self, event: dict[str, Any], **kwargs: Any) -> Answer:
        """Deliver an Events API event."""
        return self.send(json.dumps(event_callback(event)), "application/json", **kwargs)

    def envelope(self, envelope: dict[str, Any], **kwargs: Any) -> Answer:
        """Deliver a complete Events API envelope (to repeat one exactly)."""
        return self.send(json.dumps(envelope), "application/json", **kwargs)

    def command(self, text: str, response_url: str) -> Answer:
        """Invoke the slash command."""
        form = {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "team_domain": "stub",
            "channel_id": CHANNEL,
            "channel_name": "social-review",
            "user_id": "UALICE01",
            "user_name": "alice",
            "command": "/social-review",
            "text": text,
            "api_app_id": APP,
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
        return self.send(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")

    def interaction(self, payload: dict[str, Any]) -> Answer:
        """Deliver an interactivity payload (shortcut, button click)."""
        form = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.send(form, "application/x-www-form-urlencoded")


def message_shortcut(callback_id: str, text: str, response_url: str) -> dict[str, Any]:
    """Return a message_action payload for a message shortcut."""
    ts = new_ts()
    return {
        "type": "message_action",
        "token": "legacy-verification-token",
        "action_ts": ts,
        "team": {"id": TEAM, "domain": "stub"},
        "user": {"id": "UALICE01", "username": "alice", "team_id": TEAM},
        "channel": {"id": "CGENERAL1", "name": "general"},
        "callback_id": callback_id,
        "trigger_id": "1.2.3",
        "message_ts": ts,
        "message": {"type": "message", "user": "UCAROL01", "text": text, "ts": ts},
        "response_url": response_url,
    }


def button_click(action_id: str, value: str, user: str, message_ts: str) -> dict[str, Any]:
    """Return a block_actions payload for a button on one of the bot's messages."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": TEAM},
        "api_app_id": APP,
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL},
        "trigger_id": "1.2.3",
        "team": {"id": TEAM, "domain": "stub"},
        "channel": {"id": CHANNEL, "name": "social-review"},
        "message": {"type": "message", "ts": message_ts, "text": "…", "user": "UBOT0001"},
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b1",
                "text": {"type": "plain_text", "text": "問題なし"},
                "value": value,
                "type": "button",
                "action_ts": new_ts(),
            }
        ],
    }
