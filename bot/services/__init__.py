"""Use cases shared by every adapter (Slack, CLI, scheduler): review, publish, report."""

from bot.services.review import (
    DeliveryError,
    DraftReviewService,
    Publisher,
    ReplyView,
    Reviewer,
    effective_verdict,
    text_hash,
)

__all__ = [
    "DeliveryError",
    "DraftReviewService",
    "Publisher",
    "ReplyView",
    "Reviewer",
    "effective_verdict",
    "text_hash",
]
