"""The rules.yaml format as one pydantic model: the loader validates with it, the JSON Schema comes from it."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.policy.approvers import ApprovalPolicy
from bot.policy.follow import FollowPolicy
from bot.policy.time import TimePolicy

Locale = Literal["ja", "en"]
RULE_ID = r"^[a-z0-9][a-z0-9_.-]*$"
GUIDELINE = r"^G[1-9][0-9]*$"

NonEmptyStr = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    """Base for every section: unknown keys are refused, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class LocalizedText(_Strict):
    """A message in each supported language; `ja` is required, `en` falls back to `ja`."""

    ja: NonEmptyStr
    en: NonEmptyStr | None = None

    def get(self, locale: str) -> str:
        """Return the text for locale, falling back to Japanese."""
        if locale == "en" and self.en:
            return self.en
        return self.ja


Message = NonEmptyStr | LocalizedText


class Repeat(_Strict):
    """An example built by repetition, for length rules: `{repeat: "あ", times: 150}`."""

    repeat: NonEmptyStr
    times: int = Field(ge=1, le=10_000)

    def render(self) -> str:
        """Return the repeated text."""
        return self.repeat * self.times


Example = str | Repeat


class Examples(_Strict):
    """Drafts a rule must flag and drafts it must leave alone; checked whenever the file loads."""

    match: list[Example] = Field(min_length=1)
    no_match: list[Example] = Field(min_length=1)


class Context(_Strict):
    """Words or patterns looked for around a match (for `near` and `unless`)."""

    terms: list[NonEmptyStr] | None = Field(default=None, min_length=1)
    patterns: list[NonEmptyStr] | None = Field(default=None, min_length=1)
    within: int = Field(
        default=30,
        ge=0,
        le=10_000,
        description="How many characters before or after the match to look (normalized text).",
    )

    @model_validator(mode="after")
    def _needs_something(self) -> Context:
        if not self.terms and not self.patterns:
            raise ValueError("needs `terms` or `patterns`")
        return self


MetricKind = Literal["x_weighted_length", "length", "hashtags", "mentions", "urls", "lines"]


class Metric(_Strict):
    """A measurement of the whole draft with a limit, e.g. X's weighted length ≤ 280."""

    kind: MetricKind
    max: int = Field(ge=0)


class Classifier(_Strict):
    """A trained model that scores the whole draft; flags it at or above a threshold."""

    model: Annotated[
        str,
        Field(
            min_length=1,
            description="A model file from `social-review rules train`, relative to this file, "
            "or `builtin:NAME` for one shipped with social-review (overboard, competitor, "
            "commitment, collaboration, privacy).",
        ),
    ]
    threshold: float = Field(
        gt=0, lt=1, description="Flag drafts whose score (0–1) is at least this."
    )


class Rule(_Strict):
    """One guideline check. Exactly one kind: match (terms/patterns/replace), metric or classifier."""

    id: Annotated[str, Field(pattern=RULE_ID, description="Unique id, e.g. collaboration.proposal")]
    category: Annotated[
        str,
        Field(
            pattern=r"^[a-z][a-z0-9_-]*$",
            description="overboard | privacy | collaboration | commitment | competitor | format | …",
        ),
    ]
    severity: Literal["info", "warning", "error"] = "warning"
    requires_approval: bool = Field(default=False, description="Route the draft to a manager.")
    confidence: Literal["high", "medium", "low"] = Field(
        default="high", description="How sure a match is a real problem (shown to the writer)."
    )
    guideline: Annotated[str, Field(pattern=GUIDELINE)] | None = Field(
        default=None, description="Which written guideline the rule encodes, e.g. G5."
    )
    message: Message
    suggestion: Message | None = Field(default=None, description="What to write instead.")
    terms: list[NonEmptyStr] | None = Field(
        default=None, min_length=1, description="Literal terms, matched on the normalized text."
    )
    patterns: list[NonEmptyStr] | None = Field(
        default=None, min_length=1, description="Regular expressions (RE2 syntax, linear time)."
    )
    replace: dict[NonEmptyStr, NonEmptyStr] | None = Field(
        default=None,
        min_length=1,
        description="Substitutions: term → suggested wording (a per-term suggestion).",
    )
    allow: list[NonEmptyStr] = Field(
        default_factory=list, description="Longer terms that contain a match but are fine."
    )
    not_preceded_by: list[NonEmptyStr] = Field(default_factory=list)
    not_followed_by: list[NonEmptyStr] = Field(default_factory=list)
    near: Context | list[Context] | None = Field(
        default=None,
        description="Only flag when one of these is close by (a list: one of each, all close by).",
    )
    unless: Context | list[Context] | None = Field(
        default=None,
        description="Do not flag when one of these is close by (a list: any). On a `classifier`"
        " rule: close to the sentence the model's finding points at.",
    )
    evasion: bool = Field(
        default=False,
        description="Also catch kana swaps and spaced-out spellings (こらぼ, バ カ, コ・ラ・ボ).",
    )
    metric: Metric | None = None
    classifier: Classifier | None = None
    examples: Examples

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str] | None) -> list[str] | None:
        # Real compilation (RE2) happens in the engine; this only rejects the empty pattern.
        if value is not None:
            for p in value:
                if not p.strip():
                    raise ValueError("a pattern must not be blank")
        return value

    @property
    def near_contexts(self) -> list[Context]:
        """Return `near` as a list (every one must be close by)."""
        return _as_list(self.near)

    @property
    def unless_contexts(self) -> list[Context]:
        """Return `unless` as a list (any one close by cancels the match)."""
        return _as_list(self.unless)

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        matchers = bool(self.terms or self.patterns or self.replace)
        kinds = int(matchers) + int(self.metric is not None) + int(self.classifier is not None)
        if kinds > 1:
            raise ValueError(
                "a rule is one kind: `terms`/`patterns`/`replace`, or `metric`, or `classifier`"
            )
        if kinds == 0:
            raise ValueError("needs `terms`, `patterns`, `replace`, `metric` or `classifier`")
        whole_draft = self.metric is not None or self.classifier is not None
        if whole_draft and (self.near or self.allow or self.evasion):
            raise ValueError(
                "`near`, `allow` and `evasion` do not apply to a `metric` or `classifier` rule"
            )
        if self.metric is not None and self.unless:
            raise ValueError("`unless` does not apply to a `metric` rule")
        return self


def _as_list(value: Context | list[Context] | None) -> list[Context]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class RulesFile(_Strict):
    """The whole rules.yaml file."""

    version: Literal[1]
    locale: Locale = "ja"
    rules: list[Rule] = Field(min_length=1)
    approvals: ApprovalPolicy | None = None
    time: TimePolicy = Field(default_factory=TimePolicy)
    follow: FollowPolicy | None = None


def json_schema() -> dict:
    """Return the JSON Schema of rules.yaml for editors."""
    schema = RulesFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "social-review rules.yaml"
    return schema


def is_valid_rule_id(value: str) -> bool:
    """Return True if value is a well-formed rule id."""
    return re.fullmatch(RULE_ID, value) is not None
