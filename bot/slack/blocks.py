"""Every message the bot shows in Slack, built as Block Kit by pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.rules.types import Finding, Review, Verdict
from bot.services.review import ReplyView
from bot.slack import action_ids
from bot.store.base import FindingRecord

# Slack's limits are 50 blocks, 3000 characters a section and ~12k for a whole message:
# stay well inside them whatever the rules say.
MAX_FINDINGS = 10
FINDINGS_CHAR_BUDGET = 8000
EXCERPT_CHARS = 120
MESSAGE_CHARS = 600
SUGGESTION_CHARS = 300

VERDICT_REACTION: dict[str, str] = {
    "ok": "white_check_mark",
    "warn": "warning",
    "approval": "raised_hand",
    "block": "no_entry",
}

_VERDICT_ICON = {f: f":{name}:" for f, name in VERDICT_REACTION.items()}

_TEXT: dict[str, dict[str, str]] = {
    "ok": {"ja": "OK", "en": "OK"},
    "warn": {"ja": "気になる点があります", "en": "Worth a second look"},
    "block": {"ja": "修正が必要です", "en": "Needs changes"},
    "approval": {"ja": "承認が必要です", "en": "Needs a manager's approval"},
    "count": {"ja": "（{n}件）", "en": " ({n})"},
    "nothing": {
        "ja": "ガイドラインに照らして気になる点は見つかりませんでした。",
        "en": "Nothing in the guidelines stood out.",
    },
    "suggest": {"ja": "言い換え案", "en": "Try"},
    "guideline": {"ja": "ガイドライン", "en": "Guideline"},
    "dismiss": {"ja": "問題なし", "en": "Not a problem"},
    "dismissed": {
        "ja": ":heavy_check_mark: <@{user}> さんが「問題なし」にしました",
        "en": ":heavy_check_mark: <@{user}> marked this as not a problem",
    },
    "more": {"ja": "ほか {n} 件", "en": "+{n} more"},
    "private": {
        "ja": "この確認はあなたにだけ表示され、記録されません。",
        "en": "Only you can see this check; nothing is recorded.",
    },
    "usage": {
        "ja": "使い方: `/social-review 下書きの本文` で、投稿前に下書きを確認できます"
        "（結果はあなたにだけ表示されます）。",
        "en": "Usage: `/social-review your draft` checks a draft before you post it"
        " (only you see the result).",
    },
    "empty_message": {
        "ja": "このメッセージには確認できる本文がありません。",
        "en": "This message has no text to check.",
    },
}


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """A message ready for the Web API: blocks plus the plain-text fallback Slack requires."""

    text: str
    blocks: list[dict[str, Any]]

    def as_kwargs(self) -> dict[str, Any]:
        """Return the message as keyword arguments for chat.postMessage and friends."""
        return {"text": self.text, "blocks": self.blocks}


def t(locale: str, key: str, **kwargs: Any) -> str:
    """Return the user-facing text for key in locale (English when a locale lacks it)."""
    entry = _TEXT[key]
    return entry.get(locale, entry["en"]).format(**kwargs)


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn reserves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def headline(verdict: Verdict, count: int, locale: str) -> str:
    """Return the one-line verdict, e.g. "修正が必要です（2件）"."""
    line = t(locale, verdict)
    return line + t(locale, "count", n=count) if count else line


def _finding_text(number: int, f: Finding | FindingRecord, locale: str) -> str:
    excerpt = _clip(" ".join(f.excerpt.split()), EXCERPT_CHARS)
    lines = [f"*{number}.* 「{escape(excerpt)}」", escape(_clip(f.message, MESSAGE_CHARS))]
    if f.suggestion:
        suggestion = escape(_clip(f.suggestion, SUGGESTION_CHARS))
        lines.append(f"→ {t(locale, 'suggest')}: {suggestion}")
    if f.guideline:
        lines.append(f"_{t(locale, 'guideline')} {escape(f.guideline)}_")
    return "\n".join(lines)


def _finding_blocks(
    findings: Sequence[Finding | FindingRecord], locale: str, buttons: bool
) -> list[Block]:
    blocks: list[Block] = []
    used = 0
    shown = 0
    for number, f in enumerate(findings, start=1):
        body = _finding_text(number, f, locale)
        if shown == MAX_FINDINGS or used + len(body) > FINDINGS_CHAR_BUDGET:
            break
        used += len(body)
        shown += 1
        accessory = None
        if buttons and isinstance(f, FindingRecord) and f.dismissed_by is None:
            accessory = ButtonElement(
                text=PlainTextObject(text=t(locale, "dismiss")),
                action_id=action_ids.DISMISS_FINDING,
                value=str(f.id),
            )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=body), accessory=accessory))
        if isinstance(f, FindingRecord) and f.dismissed_by is not None:
            note = t(locale, "dismissed", user=f.dismissed_by)
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    if shown < len(findings):
        more = t(locale, "more", n=len(findings) - shown)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
    return blocks


def _message(
    verdict: Verdict,
    findings: Sequence[Finding | FindingRecord],
    locale: str,
    buttons: bool,
    footer: str | None = None,
) -> SlackMessage:
    line = headline(verdict, len(findings), locale)
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f"{_VERDICT_ICON[verdict]} *{line}*"))
    ]
    if findings:
        blocks.append(DividerBlock())
        blocks.extend(_finding_blocks(findings, locale, buttons))
    else:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=t(locale, "nothing"))]))
    if footer:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]))
    fallback = line
    if findings:
        fallback += ": " + _clip(findings[0].message, 200)
    return SlackMessage(text=fallback, blocks=[b.to_dict() for b in blocks])


def draft_reply(view: ReplyView) -> SlackMessage:
    """Return the thread reply for a reviewed draft, with a "Not a problem" button per finding."""
    return _message(view.verdict, view.findings, view.locale, buttons=True)


def private_check(review: Review, locale: str) -> SlackMessage:
    """Return the result of a private check (slash command or shortcut): nothing to click."""
    found = review.findings
    verdict: Verdict = review.verdict
    return _message(verdict, found, locale, buttons=False, footer=t(locale, "private"))


def usage(locale: str) -> SlackMessage:
    """Return how to use the slash command."""
    text = t(locale, "usage")
    return SlackMessage(
        text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]
    )


def empty_message(locale: str) -> SlackMessage:
    """Return the answer for a shortcut on a message with no text."""
    text = t(locale, "empty_message")
    return SlackMessage(
        text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]
    )
