"""Every message the bot shows in Slack, built as Block Kit by pure functions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot import i18n
from bot.policy.time import POLICY_RULE_PREFIX
from bot.rules.types import Finding, Review, Verdict
from bot.services.approvals import ClickResult, HomeView, NoticeView, RequestView
from bot.services.follow import FollowAnswer, FollowRequestView
from bot.services.reminders import DailyDigest, OverBudgetNote
from bot.services.review import ReplyView
from bot.services.time_budget import TimeSummary
from bot.slack import action_ids
from bot.store.base import ApprovalRecord, FindingRecord

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

_TEXT: i18n.Catalog = {
    **i18n.VERDICTS,
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
    """Return the user-facing text for key in locale (Japanese when a locale lacks it)."""
    return i18n.text(_TEXT, locale, key, **kwargs)


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
        # Time-policy notes (after hours, sensitive date) are reminders, not rule matches:
        # there is nothing to call a false alarm.
        if (
            buttons
            and isinstance(f, FindingRecord)
            and f.dismissed_by is None
            and not f.rule_id.startswith(POLICY_RULE_PREFIX)
        ):
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


# -- time budget (/social-time, the daily reminder, the over-budget DM) ----------------------------

_TIME_TEXT: dict[str, dict[str, str]] = {
    "minutes": {"ja": "{m}分", "en": "{m} min"},
    "hours": {"ja": "{h}時間", "en": "{h} h"},
    "hours_minutes": {"ja": "{h}時間{m}分", "en": "{h} h {m} min"},
    "weekday": {"ja": "月火水木金土日", "en": "Mon,Tue,Wed,Thu,Fri,Sat,Sun"},
    "day": {"ja": "{m}/{d}（{w}）", "en": "{w} {m}/{d}"},
    "today": {
        "ja": "*今日 {day}*: {used} / 予算 {budget}",
        "en": "*Today, {day}*: {used} of {budget}",
    },
    "week": {
        "ja": "*今週*: {used} / {budget}（営業日 {days} 日分）",
        "en": "*This week*: {used} of {budget} ({days} working days)",
    },
    "over": {"ja": " — {over}オーバー", "en": " — {over} over"},
    "estimated_today": {
        "ja": "今日はまだ記録がないので、レビューした下書き {n} 件 × {per} で推定しています。",
        "en": "Nothing logged today, so this is estimated from {n} reviewed drafts × {per}.",
    },
    "day_off": {"ja": "今日はお休みの日です。", "en": "Today is a day off."},
    "time_hint": {
        "ja": "`/social-time 15 返信対応` で記録 · `/social-time undo` で直前の記録を取り消し",
        "en": "`/social-time 15 replies` logs time · `/social-time undo` takes back the last entry",
    },
    "logged": {
        "ja": ":white_check_mark: {minutes}を記録しました{note}",
        "en": ":white_check_mark: Logged {minutes}{note}",
    },
    "note": {"ja": "（{note}）", "en": " ({note})"},
    "undone": {
        "ja": ":leftwards_arrow_with_hook: {day} の {minutes}{note}を取り消しました",
        "en": ":leftwards_arrow_with_hook: Took back {minutes}{note} from {day}",
    },
    "nothing_to_undo": {
        "ja": "取り消せる記録はありません。",
        "en": "There is no entry to take back.",
    },
    "time_usage": {
        "ja": "*`/social-time` の使い方*\n"
        "• `/social-time 15 返信対応` … 15分を記録（メモは任意。`15分`・`1h`・`1時間半` も可）\n"
        "• `/social-time` … 今日と今週の時間を予算と比べて表示\n"
        "• `/social-time undo` … 直前の記録を取り消し",
        "en": "*How to use `/social-time`*\n"
        "• `/social-time 15 replies` … log 15 minutes (the note is optional; `15m`, `1h`, `1.5h` work too)\n"
        "• `/social-time` … today and this week against the budget\n"
        "• `/social-time undo` … take back your last entry",
    },
    "bad_negative": {
        "ja": "マイナスの時間は記録できません。記録を間違えたときは `/social-time undo` で取り消せます。",
        "en": "Time can't be negative. To fix a wrong entry, use `/social-time undo`.",
    },
    "bad_zero": {"ja": "0分は記録しなくて大丈夫です。", "en": "No need to log zero minutes."},
    "bad_too_long": {
        "ja": "「{text}」は長すぎるようです（1回に記録できるのは{max}まで）。分で書いてください（例: `/social-time 15`）。",
        "en": "“{text}” looks too long (one entry can be up to {max}). Write minutes, e.g. `/social-time 15`.",
    },
    "bad_not_a_number": {
        "ja": "「{text}」を時間として読めませんでした。`/social-time 15 返信対応` や `/social-time 1時間半` のように、先頭に時間を書いてください。",
        "en": "I couldn't read “{text}” as a time. Put the time first, e.g. `/social-time 15 replies` or `/social-time 1.5h`.",
    },
    "bad_unit": {
        "ja": "「{text}」の単位では記録できません。分（`15`・`15分`）か時間（`1h`・`1時間`）で書いてください。",
        "en": "I can't log “{text}” in that unit. Use minutes (`15`, `15m`) or hours (`1h`).",
    },
    "digest_head": {
        "ja": ":hourglass_flowing_sand: *今日のSNS時間の予算は1人 {budget} です*{custom}\n本業が先、SNSはその後で（G3）。",
        "en": ":hourglass_flowing_sand: *Today's social-media budget is {budget} per person*{custom}\nThe main job comes first (G3).",
    },
    "digest_custom": {"ja": "（個別の予算あり）", "en": " (some people have their own)"},
    "digest_day": {"ja": "*{day} の時間*", "en": "*Time on {day}*"},
    "digest_line": {
        "ja": "• <@{user}> {used} / {budget}{over}{how}",
        "en": "• <@{user}> {used} of {budget}{over}{how}",
    },
    "digest_over": {"ja": " :warning: {over}オーバー", "en": " :warning: {over} over"},
    "digest_logged": {"ja": "（記録）", "en": " (logged)"},
    "digest_estimated": {
        "ja": "（推定: 下書き {n} 件 × {per}）",
        "en": " (estimated: {n} drafts × {per})",
    },
    "digest_nobody": {
        "ja": "記録もレビューもありませんでした。",
        "en": "No time logged and no drafts reviewed.",
    },
    "digest_drafts": {"ja": "レビューした下書き: {n} 件", "en": "Drafts reviewed: {n}"},
    "digest_pending": {"ja": "承認待ち: {n} 件", "en": "Awaiting approval: {n}"},
    "dm": {
        "ja": "おはようございます。{day} のSNS時間は {used} で、予算の {budget} を {over} 超えていました{how}。本業を先に、今日もよろしくお願いします :slightly_smiling_face:",
        "en": "Good morning! On {day} social media took {used}, {over} over your {budget} budget{how}. Main job first today :slightly_smiling_face:",
    },
    "dm_estimated": {
        "ja": "（記録がなかったので、レビューした下書き {n} 件から推定しました。実際の時間は `/social-time 分` で記録できます）",
        "en": " (estimated from {n} reviewed drafts, as nothing was logged; `/social-time minutes` logs the real time)",
    },
    "more_people": {"ja": "ほか {n} 人", "en": "+{n} more people"},
}

MAX_DIGEST_PEOPLE = 40


def tt(locale: str, key: str, **kwargs: Any) -> str:
    """Return time-budget text for key in locale (Japanese when a locale lacks it)."""
    return i18n.text(_TIME_TEXT, locale, key, **kwargs)


def duration(minutes: int, locale: str) -> str:
    """Return minutes as people say them: 45分, 1時間30分 / 45 min, 1 h 30 min."""
    hours, rest = divmod(minutes, 60)
    if hours == 0:
        return tt(locale, "minutes", m=rest)
    if rest == 0:
        return tt(locale, "hours", h=hours)
    return tt(locale, "hours_minutes", h=hours, m=rest)


def day_label(day: date, locale: str) -> str:
    """Return a short local date, e.g. 4/1（火） / Tue 4/1."""
    names = _TIME_TEXT["weekday"][locale]
    weekday = names[day.weekday()] if locale == "ja" else names.split(",")[day.weekday()]
    return tt(locale, "day", m=day.month, d=day.day, w=weekday)


def _plain(text: str) -> SlackMessage:
    return SlackMessage(
        text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]
    )


def time_summary(summary: TimeSummary, locale: str, headline: str | None = None) -> SlackMessage:
    """Return what /social-time shows: today and this week against the budget."""
    today = tt(
        locale,
        "today",
        day=day_label(summary.today, locale),
        used=duration(summary.today_minutes, locale),
        budget=duration(summary.daily_budget, locale),
    )
    if summary.today_minutes > summary.daily_budget:
        today += tt(
            locale, "over", over=duration(summary.today_minutes - summary.daily_budget, locale)
        )
    week = tt(
        locale,
        "week",
        used=duration(summary.week_minutes, locale),
        budget=duration(summary.week_budget, locale),
        days=summary.week_working_days,
    )
    notes = []
    if summary.today_source == "estimated":
        notes.append(
            tt(
                locale,
                "estimated_today",
                n=summary.today_drafts,
                per=duration(summary.minutes_per_draft, locale),
            )
        )
    if not summary.working_day:
        notes.append(tt(locale, "day_off"))
    notes.append(tt(locale, "time_hint"))
    blocks: list[Block] = []
    if headline:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=headline)))
    blocks.append(SectionBlock(text=MarkdownTextObject(text=f"{today}\n{week}")))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=n) for n in notes]))
    fallback = (headline + "\n" if headline else "") + today.replace("*", "")
    return SlackMessage(text=fallback, blocks=[b.to_dict() for b in blocks])


def time_logged(minutes: int, note: str | None, summary: TimeSummary, locale: str) -> SlackMessage:
    """Return the answer to a logged entry, with the updated summary."""
    shown = tt(locale, "note", note=escape(_clip(note, 100))) if note else ""
    line = tt(locale, "logged", minutes=duration(minutes, locale), note=shown)
    return time_summary(summary, locale, headline=line)


def time_undone(
    undone: tuple[int, str | None, date] | None, summary: TimeSummary, locale: str
) -> SlackMessage:
    """Return the answer to an undo: what was taken back, or that there was nothing."""
    if undone is None:
        return time_summary(summary, locale, headline=tt(locale, "nothing_to_undo"))
    minutes, note, day = undone
    shown = tt(locale, "note", note=escape(_clip(note, 100))) if note else ""
    line = tt(
        locale, "undone", day=day_label(day, locale), minutes=duration(minutes, locale), note=shown
    )
    return time_summary(summary, locale, headline=line)


def time_usage(locale: str) -> SlackMessage:
    """Return how to use /social-time."""
    return _plain(tt(locale, "time_usage"))


def time_problem(problem: str, text: str, locale: str, max_minutes: int) -> SlackMessage:
    """Return a friendly answer to input that cannot be logged."""
    message = tt(
        locale,
        f"bad_{problem}",
        text=escape(_clip(text, 60)),
        max=duration(max_minutes, locale),
    )
    return _plain(message)


def daily_digest(digest: DailyDigest) -> SlackMessage:
    """Return the morning reminder: today's budget, the previous working day per person."""
    locale = digest.locale
    per = duration(digest.minutes_per_draft, locale)
    head = tt(
        locale,
        "digest_head",
        budget=duration(digest.daily_budget, locale),
        custom=tt(locale, "digest_custom") if digest.per_user_budgets else "",
    )
    lines = []
    for usage in digest.people[:MAX_DIGEST_PEOPLE]:
        over = tt(locale, "digest_over", over=duration(usage.over, locale)) if usage.over else ""
        how = (
            tt(locale, "digest_logged")
            if usage.source == "logged"
            else tt(locale, "digest_estimated", n=usage.drafts, per=per)
        )
        lines.append(
            tt(
                locale,
                "digest_line",
                user=usage.user_id,
                used=duration(usage.minutes, locale),
                budget=duration(usage.budget, locale),
                over=over,
                how=how,
            )
        )
    if len(digest.people) > MAX_DIGEST_PEOPLE:
        lines.append(tt(locale, "more_people", n=len(digest.people) - MAX_DIGEST_PEOPLE))
    body = tt(locale, "digest_day", day=day_label(digest.previous_day, locale)) + "\n"
    body += "\n".join(lines) if lines else tt(locale, "digest_nobody")
    facts = [tt(locale, "digest_drafts", n=digest.drafts_reviewed)]
    if digest.pending_approvals is not None:
        facts.append(tt(locale, "digest_pending", n=digest.pending_approvals))
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=head)),
        SectionBlock(text=MarkdownTextObject(text=_clip(body, 2900))),
        ContextBlock(elements=[MarkdownTextObject(text=" · ".join(facts))]),
    ]
    fallback = head.split("\n")[0].replace("*", "")
    return SlackMessage(text=fallback, blocks=[b.to_dict() for b in blocks])


def over_budget_dm(note: OverBudgetNote) -> SlackMessage:
    """Return the short, kind DM to someone over budget on the previous working day."""
    usage, locale = note.usage, note.locale
    how = tt(locale, "dm_estimated", n=usage.drafts) if usage.source == "estimated" else ""
    text = tt(
        locale,
        "dm",
        day=day_label(usage.day, locale),
        used=duration(usage.minutes, locale),
        budget=duration(usage.budget, locale),
        over=duration(usage.over, locale),
        how=how,
    )
    return _plain(text)


# -- approvals (issue 4): requests, notices, modals and the App Home tab -----------------------------

APPROVAL_REACTION: dict[str, str] = {
    "pending": "raised_hand",
    "approved": "heavy_check_mark",
    "rejected": "x",
    "expired": "hourglass",
}
DRAFT_CHARS = 2500
NOTE_CHARS = 500

_APPROVAL_TEXT: dict[str, dict[str, str]] = {
    "request": {
        "ja": ":raised_hand: *承認依頼*: <@{author}> さんの下書き",
        "en": ":raised_hand: *Approval request*: a draft by <@{author}>",
    },
    "request_anon": {"ja": ":raised_hand: *承認依頼*", "en": ":raised_hand: *Approval request*"},
    "fallback": {
        "ja": "承認依頼: <@{author}> さんの下書き",
        "en": "Approval request: a draft by <@{author}>",
    },
    "ask": {
        "ja": "{who} 承認をお願いします。",
        "en": "{who} please approve or reject.",
    },
    "why": {"ja": "*承認が必要な理由*", "en": "*Why it needs approval*"},
    "thread": {"ja": "<{link}|スレッドを開く>", "en": "<{link}|Open the thread>"},
    "progress": {"ja": "{n}/{m} 承認済み", "en": "{n}/{m} approved"},
    "approve": {"ja": "承認", "en": "Approve"},
    "approve_comment": {"ja": "コメントして承認", "en": "Approve with comment"},
    "reject": {"ja": "却下", "en": "Reject"},
    "state_approved": {
        "ja": ":heavy_check_mark: <@{user}> さんが承認しました（{when}）",
        "en": ":heavy_check_mark: Approved by <@{user}> ({when})",
    },
    "state_rejected": {
        "ja": ":x: <@{user}> さんが却下しました（{when}）",
        "en": ":x: Rejected by <@{user}> ({when})",
    },
    "state_stale": {
        "ja": ":pencil2: 下書きが編集されたため、この依頼は無効になりました",
        "en": ":pencil2: The draft was edited, so this request no longer applies",
    },
    "state_withdrawn": {
        "ja": ":wastebasket: 下書きが削除されたため、依頼を取り下げました",
        "en": ":wastebasket: The draft was deleted, so the request was withdrawn",
    },
    "state_expired": {
        "ja": ":hourglass: 期限切れ（{when}）: 承認されませんでした",
        "en": ":hourglass: Expired ({when}) without a decision",
    },
    "voted": {"ja": "承認: {users}", "en": "Approved by: {users}"},
    "comment": {"ja": "コメント: {note}", "en": "Comment: {note}"},
    "reason": {"ja": "理由: {note}", "en": "Reason: {note}"},
    "notice_approved": {
        "ja": ":heavy_check_mark: <@{author}> さん、<@{actor}> さんが承認しました。投稿して大丈夫です。",
        "en": ":heavy_check_mark: <@{author}>, <@{actor}> approved this draft. You can post it.",
    },
    "notice_rejected": {
        "ja": ":x: <@{author}> さん、<@{actor}> さんが却下しました。この内容では投稿しないでください。",
        "en": ":x: <@{author}>, <@{actor}> rejected this draft. Please don't post it as is.",
    },
    "notice_stale": {
        "ja": ":pencil2: 下書きが編集されたため、前の承認依頼は無効になりました。"
        "承認が必要な内容が残っていれば、改めて依頼します。",
        "en": ":pencil2: The draft was edited, so the earlier approval request no longer applies."
        " If it still needs approval, a new request follows.",
    },
    "notice_reminded": {
        "ja": ":alarm_clock: {who} まだ承認待ちの依頼があります。{link}",
        "en": ":alarm_clock: {who} this request is still waiting for a decision. {link}",
    },
    "notice_expired": {
        "ja": ":hourglass: {author}{who} 承認依頼が期限切れになりました（決定なし）。"
        "必要なら下書きを投稿し直してください。",
        "en": ":hourglass: {author}{who} the approval request expired without a decision."
        " Post the draft again if it is still needed.",
    },
    "note_not_approver": {
        "ja": "あなたはこの依頼の承認者ではありません。",
        "en": "You are not an approver for this request.",
    },
    "note_own_draft": {
        "ja": "自分の下書きは承認・却下できません。",
        "en": "You can't approve or reject your own draft.",
    },
    "note_not_found": {"ja": "この依頼は見つかりません。", "en": "This request no longer exists."},
    "note_stale": {
        "ja": "下書きが編集されたため、この依頼は無効です。新しい依頼をご確認ください。",
        "en": "The draft was edited, so this request no longer applies; see the new request.",
    },
    "note_already_voted": {
        "ja": "あなたの承認は記録済みです（{n}/{m}）。",
        "en": "Your approval is already recorded ({n}/{m}).",
    },
    "note_closed_approved": {
        "ja": "この依頼は <@{user}> さんが承認済みです。",
        "en": "This request was already approved by <@{user}>.",
    },
    "note_closed_rejected": {
        "ja": "この依頼は <@{user}> さんが却下済みです。",
        "en": "This request was already rejected by <@{user}>.",
    },
    "note_closed_expired": {
        "ja": "この依頼は期限切れです。",
        "en": "This request has expired.",
    },
    "note_closed_withdrawn": {
        "ja": "下書きが削除されたため、この依頼は取り下げられました。",
        "en": "The draft was deleted, so this request was withdrawn.",
    },
    "note_approved": {"ja": "承認しました。", "en": "Approved."},
    "note_counted": {
        "ja": "承認を記録しました（{n}/{m}）。",
        "en": "Your approval is recorded ({n}/{m}).",
    },
    "note_rejected": {"ja": "却下しました。", "en": "Rejected."},
    "modal_approve": {"ja": "コメントして承認", "en": "Approve with comment"},
    "modal_reject": {"ja": "却下", "en": "Reject"},
    "modal_cancel": {"ja": "キャンセル", "en": "Cancel"},
    "modal_close": {"ja": "閉じる", "en": "Close"},
    "modal_comment": {"ja": "コメント（任意）", "en": "Comment (optional)"},
    "modal_reason": {"ja": "却下の理由（任意）", "en": "Reason (optional)"},
    "modal_result": {"ja": "承認依頼", "en": "Approval request"},
    "home_waiting": {"ja": "*あなたの承認待ち*", "en": "*Waiting for your decision*"},
    "home_none_waiting": {
        "ja": "承認待ちの依頼はありません。",
        "en": "Nothing is waiting for your decision.",
    },
    "home_mine": {"ja": "*あなたの下書き*", "en": "*Your drafts*"},
    "home_none_mine": {
        "ja": "承認が必要な下書きはまだありません。",
        "en": "None of your drafts has needed approval yet.",
    },
    "home_status_pending": {"ja": ":raised_hand: 承認待ち", "en": ":raised_hand: Waiting"},
    "home_status_approved": {
        "ja": ":heavy_check_mark: 承認済み",
        "en": ":heavy_check_mark: Approved",
    },
    "home_status_rejected": {"ja": ":x: 却下", "en": ":x: Rejected"},
    "home_status_stale": {
        "ja": ":pencil2: 編集により無効",
        "en": ":pencil2: Superseded by an edit",
    },
    "home_status_withdrawn": {"ja": ":wastebasket: 取り下げ", "en": ":wastebasket: Withdrawn"},
    "home_status_expired": {"ja": ":hourglass: 期限切れ", "en": ":hourglass: Expired"},
}


def at(locale: str, key: str, **kwargs: Any) -> str:
    """Return approval text for key in locale (English when a locale lacks it)."""
    return i18n.text(_APPROVAL_TEXT, locale, key, **kwargs)


def slack_date(when: datetime | None) -> str:
    """Return a Slack date token that each reader sees in their own time zone."""
    if when is None:
        return "-"
    epoch = int(when.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{when.isoformat(timespec='minutes')}>"


def thread_link(channel: str, ts: str) -> str:
    """Return a link to a message (Slack redirects it to the workspace)."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


def _who(approver_ids: Sequence[str], usergroup: str | None) -> str:
    parts = [f"<!subteam^{usergroup}>"] if usergroup else []
    parts += [f"<@{u}>" for u in approver_ids]
    return " ".join(parts)


def _quote(text: str) -> str:
    body = escape(_clip(text.strip(), DRAFT_CHARS))
    return "\n".join("> " + line for line in body.splitlines() or [""])


def _state_lines(a: ApprovalRecord, locale: str) -> list[str]:
    lines: list[str] = []
    if a.state == "approved":
        lines.append(at(locale, "state_approved", user=a.decided_by, when=slack_date(a.decided_at)))
    elif a.state == "rejected":
        lines.append(at(locale, "state_rejected", user=a.decided_by, when=slack_date(a.decided_at)))
    elif a.state == "expired":
        lines.append(at(locale, "state_expired", when=slack_date(a.decided_at)))
    elif a.state in ("stale", "withdrawn"):
        lines.append(at(locale, f"state_{a.state}"))
    if a.voters and (a.required > 1 or a.state != "approved"):
        lines.append(at(locale, "voted", users=", ".join(f"<@{u}>" for u in a.voters)))
    if a.note and a.state in ("approved", "rejected"):
        key = "comment" if a.state == "approved" else "reason"
        lines.append(at(locale, key, note=escape(_clip(a.note, NOTE_CHARS))))
    return lines


def _decision_buttons(a: ApprovalRecord, locale: str) -> ActionsBlock:
    value = str(a.id)
    return ActionsBlock(
        block_id=f"approval-{a.id}",
        elements=[
            ButtonElement(
                text=PlainTextObject(text=at(locale, "approve")),
                action_id=action_ids.APPROVE,
                value=value,
                style="primary",
            ),
            ButtonElement(
                text=PlainTextObject(text=at(locale, "approve_comment")),
                action_id=action_ids.APPROVE_WITH_COMMENT,
                value=value,
            ),
            ButtonElement(
                text=PlainTextObject(text=at(locale, "reject")),
                action_id=action_ids.REJECT,
                value=value,
                style="danger",
            ),
        ],
    )


def _request_blocks(
    a: ApprovalRecord,
    reasons: Sequence[FindingRecord],
    locale: str,
    header: str,
    buttons: bool,
) -> list[Block]:
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=header)),
        SectionBlock(text=MarkdownTextObject(text=_quote(a.text))),
    ]
    if reasons:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=at(locale, "why"))))
        blocks.extend(_finding_blocks(reasons, locale, buttons=False))
    context = [at(locale, "thread", link=thread_link(a.channel, a.draft_ts))]
    if a.required > 1:
        context.append(at(locale, "progress", n=a.approve_count, m=a.required))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(context))]))
    lines = _state_lines(a, locale)
    if lines:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(lines))))
    if buttons and a.state == "pending":
        blocks.append(_decision_buttons(a, locale))
    return blocks


def approval_request(view: RequestView) -> SlackMessage:
    """Return an approval request: the draft, who wrote it, why, a link, and the buttons."""
    a, locale = view.approval, view.locale
    header = (
        at(locale, "request", author=a.author_id) if a.author_id else at(locale, "request_anon")
    )
    if view.mention and a.state == "pending":
        who = _who(view.approver_ids, view.usergroup)
        if who:
            header += "\n" + at(locale, "ask", who=who)
    blocks = _request_blocks(a, view.reasons, locale, header, buttons=True)
    fallback = at(locale, "fallback", author=a.author_id or "?")
    lines = _state_lines(a, locale)
    if lines:
        fallback += " — " + lines[0]
    return SlackMessage(text=fallback, blocks=[b.to_dict() for b in blocks])


def approval_notice(view: NoticeView) -> SlackMessage:
    """Return a notice about a request: decided, stale, re-announced or expired."""
    a, locale = view.approval, view.locale
    who = _who(view.approver_ids, view.usergroup)
    author = f"<@{a.author_id}> " if a.author_id else ""
    if view.kind == "approved":
        text = at(locale, "notice_approved", author=a.author_id, actor=view.actor)
        if view.note:
            text += "\n" + at(locale, "comment", note=escape(_clip(view.note, NOTE_CHARS)))
    elif view.kind == "rejected":
        text = at(locale, "notice_rejected", author=a.author_id, actor=view.actor)
        if view.note:
            text += "\n" + at(locale, "reason", note=escape(_clip(view.note, NOTE_CHARS)))
    elif view.kind == "stale":
        text = at(locale, "notice_stale")
    elif view.kind == "reminded":
        link = view.request_link or thread_link(a.channel, a.draft_ts)
        text = at(locale, "notice_reminded", who=who, link=link)
    else:
        text = at(locale, "notice_expired", author=author, who=who)
    block = SectionBlock(text=MarkdownTextObject(text=_clip(text, 2900)))
    return SlackMessage(text=_clip(text, 2900), blocks=[block.to_dict()])


def click_note(result: ClickResult) -> str:
    """Return the private answer to someone who clicked Approve or Reject."""
    a, locale = result.approval, result.locale
    outcome = result.outcome
    if outcome == "closed" and a is not None:
        return at(locale, f"note_closed_{a.state}", user=a.decided_by)
    if outcome in ("counted", "already_voted") and a is not None:
        return at(locale, f"note_{outcome}", n=a.approve_count, m=a.required)
    return at(locale, f"note_{outcome}")


def decision_modal(approval: ApprovalRecord, kind: str, locale: str, origin: str) -> dict[str, Any]:
    """Return the modal asking for an optional comment (approve) or reason (reject)."""
    approve = kind == "approve"
    view = View(
        type="modal",
        callback_id=action_ids.APPROVE_MODAL if approve else action_ids.REJECT_MODAL,
        private_metadata=json.dumps({"approval": approval.id, "origin": origin}),
        title=PlainTextObject(text=at(locale, "modal_approve" if approve else "modal_reject")),
        submit=PlainTextObject(text=at(locale, "approve" if approve else "reject")),
        close=PlainTextObject(text=at(locale, "modal_cancel")),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=_quote(_clip(approval.text, 1200)))),
            InputBlock(
                block_id=action_ids.NOTE_BLOCK,
                optional=True,
                label=PlainTextObject(
                    text=at(locale, "modal_comment" if approve else "modal_reason")
                ),
                element=PlainTextInputElement(
                    action_id=action_ids.NOTE_INPUT, multiline=True, max_length=2000
                ),
            ),
        ],
    )
    return view.to_dict()


def result_modal(text: str, locale: str) -> dict[str, Any]:
    """Return a modal that only tells the person what happened (replaces the form)."""
    view = View(
        type="modal",
        title=PlainTextObject(text=at(locale, "modal_result")),
        close=PlainTextObject(text=at(locale, "modal_close")),
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    )
    return view.to_dict()


def home_view(view: HomeView) -> dict[str, Any]:
    """Return the App Home tab: requests waiting for this approver, then the user's own drafts."""
    locale = view.locale
    blocks: list[Block] = []
    if view.banner:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=view.banner)]))
    if view.is_approver:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=at(locale, "home_waiting"))))
        if not view.waiting:
            blocks.append(
                ContextBlock(elements=[MarkdownTextObject(text=at(locale, "home_none_waiting"))])
            )
        for a in view.waiting[:8]:
            header = at(locale, "request", author=a.author_id or "?")
            blocks.append(DividerBlock())
            blocks.extend(_request_blocks(a, (), locale, header, buttons=True))
        blocks.append(DividerBlock())
    blocks.append(SectionBlock(text=MarkdownTextObject(text=at(locale, "home_mine"))))
    if not view.mine:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=at(locale, "home_none_mine"))])
        )
    for a in view.mine[:10]:
        status = at(locale, f"home_status_{a.state}")
        if a.state == "pending" and a.required > 1:
            status += " · " + at(locale, "progress", n=a.approve_count, m=a.required)
        excerpt = escape(_clip(" ".join(a.text.split()), 140))
        link = thread_link(a.channel, a.draft_ts)
        text = f"{status} · {slack_date(a.created_at)}\n<{link}|{excerpt}>"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    return View(type="home", blocks=blocks[:100]).to_dict()


# -- follow policy (issue 6): the /social-follow modal, its answer, the managers' request ---------

_FOLLOW_TEXT: dict[str, dict[str, str]] = {
    "title": {"ja": "フォローの方針", "en": "Follow policy"},
    "submit": {"ja": "方針を確認", "en": "Check"},
    "cancel": {"ja": "キャンセル", "en": "Cancel"},
    "close": {"ja": "閉じる", "en": "Close"},
    "intro": {
        "ja": "相手の種類を選ぶと、会社の方針と理由をお伝えします（G8）。",
        "en": "Pick the kind of account and you'll get the company's policy and why (G8).",
    },
    "handle": {"ja": "アカウント", "en": "Account"},
    "kind": {"ja": "どんなアカウントですか？", "en": "What kind of account is it?"},
    "kind_placeholder": {"ja": "種類を選ぶ", "en": "Choose a kind"},
    "followed": {"ja": "相手は当社をフォローしていますか？", "en": "Does it follow us?"},
    "yes": {"ja": "はい", "en": "Yes"},
    "no": {"ja": "いいえ・わからない", "en": "No / not sure"},
    "bad_handle": {
        "ja": "@ のあとに英数字と _ のアカウント名を入れてください（例: @example_jp）",
        "en": "Enter a handle of letters, digits and _ (e.g. @example)",
    },
    "no_policy": {
        "ja": "フォローの方針がまだ rules.yaml にありません。管理者に `follow:` の追加を頼んでください。",
        "en": "rules.yaml has no follow policy yet. Ask an admin to add a `follow:` section.",
    },
    "follow": {
        "ja": ":white_check_mark: フォローして大丈夫です",
        "en": ":white_check_mark: Go ahead and follow",
    },
    "follow_back": {
        "ja": ":white_check_mark: フォローバックして大丈夫です",
        "en": ":white_check_mark: Go ahead and follow back",
    },
    "wait_for_them": {
        "ja": ":hourglass_flowing_sand: こちらからはフォローしません。フォローされたらフォローバックしましょう",
        "en": ":hourglass_flowing_sand: Don't follow first; follow back once they follow us",
    },
    "do_not_follow": {
        "ja": ":no_entry_sign: フォローしません",
        "en": ":no_entry_sign: Don't follow",
    },
    "ask_manager": {
        "ja": ":raised_hand: 上長の判断が必要です",
        "en": ":raised_hand: A manager decides",
    },
    "account": {"ja": "@{handle}（{kind}）", "en": "@{handle} ({kind})"},
    "reason": {"ja": "理由: {reason}", "en": "Why: {reason}"},
    "opened": {
        "ja": "<#{channel}> で上長に相談を送りました。結果はそのスレッドでお知らせします。それまではフォローを待ってください。",
        "en": "Sent to the managers in <#{channel}>; you'll hear back in that thread. Please hold off until then.",
    },
    "no_approvers": {
        "ja": "承認者が rules.yaml に設定されていません。上長に直接相談してください。",
        "en": "rules.yaml names no approvers: please ask your manager directly.",
    },
    "no_channel": {
        "ja": "相談を送るチャンネルが設定されていません。上長に直接相談してください。",
        "en": "No review channel is set up for the request: please ask your manager directly.",
    },
    "not_delivered": {
        "ja": "Slack に相談を送れませんでした。少し待ってからもう一度お試しください。",
        "en": "Slack didn't take the request. Please try again in a moment.",
    },
    "request": {
        "ja": "<@{user}> さんからフォローの相談です",
        "en": "<@{user}> asks about following an account",
    },
}


def ft(locale: str, key: str, **kwargs: Any) -> str:
    """Return follow-policy text for key in locale (Japanese when a locale lacks it)."""
    return i18n.text(_FOLLOW_TEXT, locale, key, **kwargs)


def follow_modal(
    handle: str, kinds: Sequence[tuple[str, str]], locale: str, channel: str
) -> dict[str, Any]:
    """Return the /social-follow form: the account, its kind, and whether it follows us."""
    followed = [
        Option(value="yes", text=PlainTextObject(text=ft(locale, "yes"))),
        Option(value="no", text=PlainTextObject(text=ft(locale, "no"))),
    ]
    view = View(
        type="modal",
        callback_id=action_ids.FOLLOW_MODAL,
        private_metadata=json.dumps({"channel": channel}),
        title=PlainTextObject(text=ft(locale, "title")),
        submit=PlainTextObject(text=ft(locale, "submit")),
        close=PlainTextObject(text=ft(locale, "cancel")),
        blocks=[
            ContextBlock(elements=[MarkdownTextObject(text=ft(locale, "intro"))]),
            InputBlock(
                block_id=action_ids.FOLLOW_HANDLE_BLOCK,
                label=PlainTextObject(text=ft(locale, "handle")),
                element=PlainTextInputElement(
                    action_id=action_ids.FOLLOW_HANDLE_INPUT,
                    initial_value=f"@{handle}" if handle else None,
                    placeholder=PlainTextObject(text="@example"),
                    max_length=100,
                ),
            ),
            InputBlock(
                block_id=action_ids.FOLLOW_KIND_BLOCK,
                label=PlainTextObject(text=ft(locale, "kind")),
                element=StaticSelectElement(
                    action_id=action_ids.FOLLOW_KIND_INPUT,
                    placeholder=PlainTextObject(text=ft(locale, "kind_placeholder")),
                    options=[
                        Option(value=kind, text=PlainTextObject(text=_clip(label, 75)))
                        for kind, label in kinds[:100]
                    ],
                ),
            ),
            InputBlock(
                block_id=action_ids.FOLLOW_FOLLOWED_BLOCK,
                label=PlainTextObject(text=ft(locale, "followed")),
                element=RadioButtonsElement(
                    action_id=action_ids.FOLLOW_FOLLOWED_INPUT,
                    options=followed,
                    initial_option=followed[1],
                ),
            ),
        ],
    )
    return view.to_dict()


def follow_answer_lines(answer: FollowAnswer) -> list[str]:
    """Return the decision, the account and the reason, then what became of a request."""
    d, locale = answer.decision, answer.locale
    lines = [
        f"*{ft(locale, d.outcome)}*",
        escape(ft(locale, "account", handle=d.handle, kind=d.kind_label)),
        escape(ft(locale, "reason", reason=d.reason)),
    ]
    if answer.request is not None:
        lines.append(ft(locale, answer.request, channel=answer.channel or ""))
    return lines


def follow_result_modal(answer: FollowAnswer) -> dict[str, Any]:
    """Return the modal that states the decision and the reason (replaces the form)."""
    locale = answer.locale
    view = View(
        type="modal",
        title=PlainTextObject(text=ft(locale, "title")),
        close=PlainTextObject(text=ft(locale, "close")),
        blocks=[SectionBlock(text=MarkdownTextObject(text="\n".join(follow_answer_lines(answer))))],
    )
    return view.to_dict()


def follow_request(view: FollowRequestView) -> SlackMessage:
    """Return the channel message asking the managers (the approval request joins its thread)."""
    d, locale = view.decision, view.locale
    header = ft(locale, "request", user=view.user_id)
    body = "\n".join(
        [
            header,
            _quote(view.text),
            escape(ft(locale, "reason", reason=d.reason)),
        ]
    )
    return SlackMessage(
        text=f"{header}: {_clip(view.text, 200)}",
        blocks=[SectionBlock(text=MarkdownTextObject(text=body)).to_dict()],
    )
