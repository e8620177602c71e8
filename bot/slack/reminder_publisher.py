"""Deliver the daily reminder, the over-budget DMs and the weekly chart through the Web API."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.services.reminders import DailyDigest, OverBudgetNote
from bot.slack.blocks import daily_digest, over_budget_dm
from bot.slack.publisher import SlackPublisher


class SlackReminderNotifier:
    """The ReminderNotifier port on the Slack Web API; failures raise DeliveryError."""

    def __init__(self, client: WebClient) -> None:
        self._slack = SlackPublisher(client)
        self.client = client

    def post_digest(self, channel: str, digest: DailyDigest) -> None:
        """Post the morning reminder in the channel."""
        message = daily_digest(digest)
        self._slack.call(
            self.client.chat_postMessage,
            channel=channel,
            unfurl_links=False,
            unfurl_media=False,
            **message.as_kwargs(),
        )

    def send_over_budget(self, note: OverBudgetNote) -> None:
        """DM one person (a user id as channel posts in the app's Messages tab)."""
        message = over_budget_dm(note)
        self._slack.call(
            self.client.chat_postMessage, channel=note.usage.user_id, **message.as_kwargs()
        )

    def post_chart(self, channel: str, png: bytes, title: str, filename: str) -> None:
        """Upload the chart to the channel (files:write)."""
        self._slack.call(
            self.client.files_upload_v2,
            channel=channel,
            content=png,
            filename=filename,
            title=title,
        )
