"""Post follow requests for the managers through the Slack Web API (same retries as replies)."""

from __future__ import annotations

from bot.services.follow import FollowRequestView
from bot.slack.blocks import follow_request
from bot.slack.publisher import SlackPublisher


class SlackFollowPublisher(SlackPublisher):
    """The FollowPublisher port on the Slack Web API."""

    def post_follow_request(self, view: FollowRequestView, channel: str) -> str:
        """Post the request message in channel and return its ts."""
        message = follow_request(view)
        response = self._call(
            self.client.chat_postMessage,
            channel=channel,
            unfurl_links=False,
            unfurl_media=False,
            **message.as_kwargs(),
        )
        assert response is not None
        return str(response["ts"])
