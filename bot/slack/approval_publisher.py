"""Deliver approval requests, notices and state reactions, and look up user groups, via Slack."""

from __future__ import annotations

import http.client
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.policy.approvers import GroupLookupError
from bot.services.approvals import NoticeView, RequestView
from bot.slack.blocks import APPROVAL_REACTION, approval_notice, approval_request, thread_link
from bot.slack.publisher import SlackPublisher, count_api_error


class SlackApprovalPublisher(SlackPublisher):
    """The ApprovalPublisher port on the Slack Web API (same retries and errors as replies)."""

    def post_request(self, view: RequestView, channel: str, thread_ts: str | None) -> str:
        """Post a request (in the draft's thread when thread_ts is given) and return its ts."""
        message = approval_request(view)
        response = self._call(
            self.client.chat_postMessage,
            channel=channel,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            **message.as_kwargs(),
        )
        assert response is not None
        return str(response["ts"])

    def update_request(self, view: RequestView, channel: str, ts: str) -> bool:
        """Rewrite a request in place; return False if it no longer exists."""
        message = approval_request(view)
        response = self._call(
            self.client.chat_update,
            ok_errors=frozenset({"message_not_found", "cant_update_message", "channel_not_found"}),
            channel=channel,
            ts=ts,
            **message.as_kwargs(),
        )
        return response is not None

    def post_notice(self, view: NoticeView, channel: str, thread_ts: str | None) -> None:
        """Post a notice (in a thread when thread_ts is given)."""
        message = approval_notice(view)
        self._call(
            self.client.chat_postMessage,
            ok_errors=frozenset({"thread_not_found", "message_not_found"}),
            channel=channel,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            **message.as_kwargs(),
        )

    def mark_state(self, channel: str, ts: str, old: str | None, new: str) -> None:
        """Show the request's state as a reaction on the draft (✋ while pending)."""
        remove: list[str] = []
        if old in APPROVAL_REACTION and old != "pending" and old != new:
            remove.append(APPROVAL_REACTION[old])
        if new in ("approved", "rejected", "expired"):
            remove.append(APPROVAL_REACTION["pending"])
        for name in remove:
            self._call(
                self.client.reactions_remove,
                ok_errors=frozenset({"no_reaction", "message_not_found"}),
                channel=channel,
                timestamp=ts,
                name=name,
            )
        if new in APPROVAL_REACTION:
            self._call(
                self.client.reactions_add,
                ok_errors=frozenset({"already_reacted", "message_not_found"}),
                channel=channel,
                timestamp=ts,
                name=APPROVAL_REACTION[new],
            )

    def link(self, channel: str, ts: str) -> str:
        """Return a link to a message."""
        return thread_link(channel, ts)


def usergroup_fetcher(client: WebClient) -> Callable[[str], list[str]]:
    """Return a function listing a user group's members; raises GroupLookupError on failure."""

    def fetch(usergroup: str) -> list[str]:
        try:
            response = client.usergroups_users_list(usergroup=usergroup)
        except SlackApiError as err:
            error = count_api_error(err)
            raise GroupLookupError(str(error or err.response.status_code)) from err
        except (SlackClientError, OSError, http.client.HTTPException) as err:
            raise GroupLookupError(f"{type(err).__name__}: {err}") from err
        return [str(u) for u in response.get("users") or []]

    return fetch
