"""Deliver replies and verdict reactions through the Slack Web API, with the SDK's retries."""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    RetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from bot.observability import count_slack_error, slack_method
from bot.rules.types import Verdict
from bot.services.review import DeliveryError, ReplyView
from bot.slack.blocks import VERDICT_REACTION, draft_reply


class AnyServerErrorRetryHandler(ServerErrorRetryHandler):
    """Retry every 5xx, not only the 500 and 503 the SDK's handler covers."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and 500 <= response.status_code <= 599


class ErrorCounter(RetryHandler):
    """Never retries: counts every failed attempt (429, 5xx, connection error) for /metrics."""

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        """Count the failure, then let the next handler decide about retrying."""
        if response is not None:
            kind = f"http_{response.status_code}"
        else:
            kind = type(error).__name__ if error is not None else "unknown"
        count_slack_error(slack_method(request.url), kind)
        return False


def count_api_error(err: SlackApiError) -> str | None:
    """Count a Slack answer of ok:false (or a final HTTP error) and return its error code."""
    error = err.response.get("error") if isinstance(err.response.data, dict) else None
    count_slack_error(
        slack_method(getattr(err.response, "api_url", None)),
        str(error or f"http_{err.response.status_code}"),
    )
    return error


def retry_handlers() -> list[RetryHandler]:
    """Return the retry handlers every WebClient of the app uses (Bolt copies them per request)."""
    return [
        ErrorCounter(),
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=2),
        AnyServerErrorRetryHandler(max_retry_count=2),
    ]


def make_web_client(token: str, base_url: str, timeout: int = 10) -> WebClient:
    """Return a WebClient for base_url with the app's retry handlers."""
    return WebClient(
        token=token, base_url=base_url, timeout=timeout, retry_handlers=retry_handlers()
    )


# Errors that mean the work is already done.
_ALREADY = {"already_reacted", "no_reaction", "message_not_found"}


class SlackPublisher:
    """The Publisher port on the Slack Web API."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def _call(
        self,
        method: Callable[..., SlackResponse],
        *,
        ok_errors: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> SlackResponse | None:
        try:
            return method(**kwargs)
        except SlackApiError as err:
            error = err.response.get("error") if isinstance(err.response.data, dict) else None
            if error in ok_errors:
                return None
            count_api_error(err)
            raise DeliveryError(f"{method.__name__}: {error or err.response.status_code}") from err
        except (SlackClientError, OSError, http.client.HTTPException) as err:
            raise DeliveryError(f"{method.__name__}: {type(err).__name__}: {err}") from err

    def call(
        self,
        method: Callable[..., SlackResponse],
        *,
        ok_errors: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> SlackResponse | None:
        """Call a Web API method; raise DeliveryError if it still fails after the retries."""
        return self._call(method, ok_errors=ok_errors, **kwargs)

    def post_reply(self, view: ReplyView) -> str:
        """Post the reply in the draft's thread and return its ts."""
        message = draft_reply(view)
        response = self._call(
            self.client.chat_postMessage,
            channel=view.channel,
            thread_ts=view.draft_ts,
            unfurl_links=False,
            unfurl_media=False,
            **message.as_kwargs(),
        )
        assert response is not None
        return str(response["ts"])

    def update_reply(self, reply_ts: str, view: ReplyView) -> bool:
        """Rewrite an earlier reply; return False if that reply no longer exists."""
        message = draft_reply(view)
        response = self._call(
            self.client.chat_update,
            ok_errors=frozenset({"message_not_found", "cant_update_message"}),
            channel=view.channel,
            ts=reply_ts,
            **message.as_kwargs(),
        )
        return response is not None

    def delete_reply(self, channel: str, reply_ts: str) -> None:
        """Take a reply down (a reply that is already gone is fine)."""
        self._call(
            self.client.chat_delete,
            ok_errors=frozenset({"message_not_found"}),
            channel=channel,
            ts=reply_ts,
        )

    def mark(self, channel: str, ts: str, old: Verdict | None, new: Verdict) -> None:
        """Show the verdict as a reaction on the draft, replacing the previous one."""
        if old is not None and VERDICT_REACTION[old] != VERDICT_REACTION[new]:
            self._call(
                self.client.reactions_remove,
                ok_errors=frozenset({"no_reaction", "message_not_found"}),
                channel=channel,
                timestamp=ts,
                name=VERDICT_REACTION[old],
            )
        self._call(
            self.client.reactions_add,
            ok_errors=frozenset({"already_reacted", "message_not_found"}),
            channel=channel,
            timestamp=ts,
            name=VERDICT_REACTION[new],
        )
