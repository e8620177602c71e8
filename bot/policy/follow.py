"""Follow policy (rules.yaml `follow:`): per kind of account, follow, follow back, don't, or ask.

Pure: the model, the decision for one account, and spotting a draft that announces a follow.
No Slack, no SQL, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot import i18n

FollowAction = Literal["follow", "follow_back", "do_not_follow", "ask_manager"]
KindId = Literal[
    "competitor",
    "partner",
    "industry_peer",
    "customer",
    "influencer",
    "media",
    "political_religious",
    "anonymous_hostile",
    "bot",
    "unknown",
]
KIND_IDS: tuple[str, ...] = KindId.__args__  # type: ignore[attr-defined]

# What the decision means for this one account (follow_back depends on whether they follow us).
Outcome = Literal["follow", "follow_back", "wait_for_them", "do_not_follow", "ask_manager"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class FollowText(_Strict):
    """Text shown to staff, per language (`en` falls back to `ja`)."""

    ja: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)] | None = None

    def get(self, locale: str) -> str:
        """Return the text for locale."""
        return self.en if locale == "en" and self.en else self.ja


Words = Annotated[str, Field(min_length=1)] | FollowText  # one text, or {ja, en}


def _words(value: Words, locale: str) -> str:
    return value if isinstance(value, str) else value.get(locale)


_KIND_NAMES: dict[str, tuple[str, str]] = {
    "competitor": ("競合他社", "Competitor"),
    "partner": ("取引先・パートナー企業", "Partner or client company"),
    "industry_peer": ("同業・業界の企業や団体", "Industry peer"),
    "customer": ("お客さま・一般のユーザー", "Customer or general user"),
    "influencer": ("インフルエンサー", "Influencer"),
    "media": ("報道・メディア", "Media or press"),
    "political_religious": ("政治・宗教の団体や関係者", "Political or religious organisation"),
    "anonymous_hostile": ("攻撃的な匿名アカウント", "Anonymous hostile account"),
    "bot": ("正体のわからない bot", "Unknown bot"),
    "unknown": ("わからない・どれでもない", "Not sure / none of these"),
}


class FollowKind(_Strict):
    """One kind of account and what the company does about following it."""

    kind: KindId = Field(description="Which kind of account: " + ", ".join(_KIND_NAMES) + ".")
    action: FollowAction = Field(
        description="follow | follow_back (only once they follow us) | do_not_follow | "
        "ask_manager (goes through the approval flow)."
    )
    reason: Words = Field(description="Why, in a sentence staff will read.")
    name: Words | None = Field(
        default=None, description="How the kind is shown (default built in)."
    )

    def label(self, locale: str) -> str:
        """Return the name of the kind shown to staff."""
        if self.name is not None:
            return _words(self.name, locale)
        ja, en = _KIND_NAMES[self.kind]
        return en if locale == "en" else ja


class FollowPolicy(_Strict):
    """The `follow:` section of rules.yaml: whom the company account follows (G8)."""

    kinds: list[FollowKind] = Field(
        min_length=1, description="One entry per kind of account; `unknown` is required."
    )

    @model_validator(mode="after")
    def _complete(self) -> FollowPolicy:
        seen: set[str] = set()
        for entry in self.kinds:
            if entry.kind in seen:
                raise ValueError(f"kind `{entry.kind}` is listed twice")
            seen.add(entry.kind)
        if "unknown" not in seen:
            raise ValueError("needs a `kind: unknown` entry (what to do when staff are not sure)")
        return self

    def entry(self, kind: str) -> FollowKind:
        """Return the entry for kind, or the `unknown` entry when kind is not listed."""
        for item in self.kinds:
            if item.kind == kind:
                return item
        return next(item for item in self.kinds if item.kind == "unknown")


@dataclass(frozen=True, slots=True)
class FollowDecision:
    """What to do about one account, and why."""

    handle: str
    kind: str
    kind_label: str
    followed_us: bool
    action: FollowAction
    outcome: Outcome
    reason: str

    @property
    def needs_manager(self) -> bool:
        """Return True when a manager decides (the approval flow)."""
        return self.outcome == "ask_manager"

    @property
    def may_follow(self) -> bool:
        """Return True when staff may follow the account now, without asking."""
        return self.outcome in ("follow", "follow_back")


def decide(
    policy: FollowPolicy, handle: str, kind: str, followed_us: bool, locale: str
) -> FollowDecision:
    """Return the decision for one account of a given kind."""
    entry = policy.entry(kind)
    outcome: Outcome
    if entry.action == "follow":
        outcome = "follow_back" if followed_us else "follow"
    elif entry.action == "follow_back":
        outcome = "follow_back" if followed_us else "wait_for_them"
    else:
        outcome = entry.action
    return FollowDecision(
        handle=handle,
        kind=entry.kind,
        kind_label=entry.label(locale),
        followed_us=followed_us,
        action=entry.action,
        outcome=outcome,
        reason=_words(entry.reason, locale),
    )


# -- handles ---------------------------------------------------------------------------------------

_HANDLE = re.compile(r"^[A-Za-z0-9_.]{1,30}$")
# A handle in running text: @ not preceded by a word character (so mail addresses don't count).
_HANDLE_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_.@])[@＠]([A-Za-z0-9_]{1,30}(?:\.[A-Za-z0-9_]+)*)")


def normalize_handle(text: str) -> str | None:
    """Return `handle` (no @, lower case) from what a person typed, or None if it isn't one."""
    value = text.strip().replace("＠", "@")
    if value.startswith("https://") or value.startswith("http://"):
        value = value.rstrip("/").rsplit("/", 1)[-1]
    value = value.lstrip("@").strip().rstrip(".")
    if not _HANDLE.fullmatch(value):
        return None
    return value.lower()


def handles_in(text: str) -> list[str]:
    """Return the handles mentioned in a draft, lower case, in order, without repeats."""
    found: list[str] = []
    for match in _HANDLE_IN_TEXT.finditer(text):
        handle = match.group(1).rstrip(".").lower()
        if handle not in found:
            found.append(handle)
    return found


# -- drafts that announce a follow -----------------------------------------------------------------

# Announcing that *we* followed someone (or will): not asking others to follow us
# (フォローお願いします, follow us) and not thanking for a follow.
_ANNOUNCE = re.compile(
    r"(フォロー\s*バック|フォロバ|フォロー\s*返し|相互フォロー)"
    # "フォローしました" alone is also "followed up": only when an account is the object.
    r"|(@[A-Za-z0-9_]+|さん|様|さま|アカウント|公式)\s*を?\s*フォロー(させて(いただき|頂き)|いたし|し)ました"
    r"|(followed|following)\s+(you\s+|them\s+|.{1,30}?\s+)?back"
    r"|follow(ing|ed)?\s+back"
    r"|\bwe(\s+have|'ve|\s+just|\s+now)?\s+(just\s+)?followed\b"
    r"|\bwe('re|\s+are)\s+now\s+following\b"
    r"|\bjust\s+followed\b",
    re.IGNORECASE,
)


_BACK = re.compile(
    r"フォロー\s*バック|フォロバ|フォロー\s*返し|相互フォロー|follow(ed|ing)?\s+(\S+\s+)?back", re.I
)


def announces_follow(text: str) -> bool:
    """Return True if a draft says the account followed (or follows back) someone."""
    return _ANNOUNCE.search(text) is not None


def announces_follow_back(text: str) -> bool:
    """Return True if a draft says the account followed someone *back*."""
    return _BACK.search(text) is not None


FOLLOW_RULE_PREFIX = "policy.follow"
FOLLOW_UNCHECKED_RULE = "policy.follow.unchecked"
FOLLOW_NOT_ALLOWED_RULE = "policy.follow.not_allowed"
FOLLOW_WAIT_RULE = "policy.follow.wait_for_them"
FOLLOW_MANAGER_RULE = "policy.follow.ask_manager"

_TEXT: dict[str, dict[str, str]] = {
    "unchecked": {
        "ja": "フォローの投稿です。相手の種類ごとの方針を /social-follow {handle} で確かめておきましょう（G8）",
        "en": "This post announces a follow: check the policy for the account with "
        "/social-follow {handle} (G8)",
    },
    "not_allowed": {
        "ja": "@{handle} は「{kind}」として、フォローしない方針です。{reason}",
        "en": "@{handle} is a {kind}: our policy is not to follow. {reason}",
    },
    "wait_for_them": {
        "ja": "@{handle} は「{kind}」として、フォローされたらフォローバックする方針です。"
        "こちらからは先にフォローしません。{reason}",
        "en": "@{handle} is a {kind}: we follow back only once they follow us. {reason}",
    },
    "ask_manager": {
        "ja": "@{handle} のフォローは上長の判断が必要です（{kind}）。{reason}",
        "en": "Following @{handle} needs a manager's decision ({kind}). {reason}",
    },
    "ask_manager_hint": {
        "ja": "/social-follow {handle} で上長に相談しましょう",
        "en": "Ask a manager with /social-follow {handle}",
    },
}


def follow_text(locale: str, key: str, **kwargs: Any) -> str:
    """Return a follow-policy message in locale (Japanese when the locale lacks it)."""
    return i18n.text(_TEXT, locale, key, **kwargs)


@dataclass(frozen=True, slots=True)
class FollowNote:
    """A finding the follow policy adds to a review of a draft."""

    rule_id: str
    severity: Literal["info", "warning"]
    requires_approval: bool
    message: str
    suggestion: str | None
    excerpt: str
    category: str = "policy"
    guideline: str = "G8"


@dataclass(frozen=True, slots=True)
class Recorded:
    """What staff last answered about one handle (and, if asked, the manager's answer)."""

    kind: str
    followed_us: bool
    approval_state: str | None = None  # pending | approved | rejected | expired | …


def follow_notes(
    text: str, policy: FollowPolicy, recorded: dict[str, Recorded], locale: str
) -> list[FollowNote]:
    """Return the follow-policy findings for a draft, given what was answered per handle.

    The recorded kind is judged by today's policy, so a policy edit applies at once; a draft
    that says it follows *back* shows the account followed us.
    """
    if not announces_follow(text):
        return []
    back = announces_follow_back(text)
    handles = handles_in(text)
    notes: list[FollowNote] = []
    unchecked = [h for h in handles if h not in recorded]
    if not handles or unchecked:
        shown = f"@{unchecked[0]}" if unchecked else "@handle"
        notes.append(
            FollowNote(
                rule_id=FOLLOW_UNCHECKED_RULE,
                severity="info",
                requires_approval=False,
                message=follow_text(locale, "unchecked", handle=shown),
                suggestion=None,
                excerpt=shown if unchecked else "",
            )
        )
    for handle in handles:
        if handle not in recorded:
            continue
        seen = recorded[handle]
        d = decide(policy, handle, seen.kind, seen.followed_us or back, locale)
        args = {"handle": handle, "kind": d.kind_label, "reason": d.reason}
        excerpt = f"@{handle}"
        if d.outcome == "do_not_follow":
            message = follow_text(locale, "not_allowed", **args)
            notes.append(
                FollowNote(FOLLOW_NOT_ALLOWED_RULE, "warning", False, message, None, excerpt)
            )
        elif d.outcome == "wait_for_them":
            message = follow_text(locale, "wait_for_them", **args)
            notes.append(FollowNote(FOLLOW_WAIT_RULE, "warning", False, message, None, excerpt))
        elif d.outcome == "ask_manager" and seen.approval_state != "approved":
            message = follow_text(locale, "ask_manager", **args)
            hint = follow_text(locale, "ask_manager_hint", handle=excerpt)
            notes.append(FollowNote(FOLLOW_MANAGER_RULE, "warning", True, message, hint, excerpt))
    return notes
