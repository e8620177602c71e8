"""Measure a rule set on labeled drafts: per-category precision and recall, misses and false alarms."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from .engine import RuleSet
from .types import SEVERITY_RANK, Review


@dataclass(frozen=True, slots=True)
class LabeledDraft:
    """A draft with the categories it should be flagged in ([] = clean)."""

    id: str
    text: str
    categories: frozenset[str]
    approval: bool


class CorpusError(ValueError):
    """The corpus file cannot be read; the message says where and why."""


def parse_corpus(text: str, name: str = "corpus") -> list[LabeledDraft]:
    """Parse a YAML list or JSONL of {id, text, categories, approval?} items."""
    items: list[Any]
    stripped = text.lstrip()
    if name.endswith(".jsonl") or (stripped.startswith("{") and "\n{" in stripped):
        items = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{name}:{n}: {exc.msg}") from None
    else:
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CorpusError(f"{name}: {exc}") from None
        if not isinstance(loaded, list):
            raise CorpusError(f"{name}: expected a list of drafts")
        items = loaded
    drafts: list[LabeledDraft] = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise CorpusError(f"{name}: item {n}: needs `text`")
        categories = item.get("categories") or []
        if not isinstance(categories, list):
            raise CorpusError(f"{name}: item {n}: `categories` must be a list")
        drafts.append(
            LabeledDraft(
                id=str(item.get("id", n)),
                text=item["text"],
                categories=frozenset(str(c) for c in categories),
                approval=bool(item.get("approval", False)),
            )
        )
    return drafts


def flagged_categories(review: Review) -> set[str]:
    """Return the categories flagged at warning or above."""
    return {f.category for f in review.findings if SEVERITY_RANK[f.severity] >= 1}


@dataclass
class CategoryScore:
    """Counts for one category."""

    tp: int = 0
    fn: int = 0
    fp: int = 0

    @property
    def precision(self) -> float:
        """Return TP / (TP + FP), 1.0 when nothing was flagged."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Return TP / (TP + FN), 1.0 when nothing was expected."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Evaluation:
    """The result of running a rule set over a labeled corpus."""

    total: int = 0
    categories: dict[str, CategoryScore] = field(default_factory=dict)
    clean_total: int = 0
    clean_quiet: int = 0
    approval_total: int = 0
    approval_hit: int = 0
    approval_false: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)
    false_alarms: list[dict[str, Any]] = field(default_factory=list)

    @property
    def clean_rate(self) -> float:
        """Return the share of clean drafts that got no warning."""
        return self.clean_quiet / self.clean_total if self.clean_total else 1.0

    @property
    def approval_rate(self) -> float:
        """Return the share of drafts needing approval that were routed to a manager."""
        return self.approval_hit / self.approval_total if self.approval_total else 1.0

    def to_dict(self) -> dict[str, Any]:
        """Return the evaluation as JSON-ready data."""
        return {
            "total": self.total,
            "categories": {
                name: {
                    "tp": s.tp,
                    "fn": s.fn,
                    "fp": s.fp,
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                }
                for name, s in sorted(self.categories.items())
            },
            "clean": {
                "total": self.clean_total,
                "no_warning": self.clean_quiet,
                "rate": round(self.clean_rate, 4),
            },
            "approval": {
                "total": self.approval_total,
                "routed": self.approval_hit,
                "rate": round(self.approval_rate, 4),
                "false_routes": self.approval_false,
            },
            "misses": self.misses,
            "false_alarms": self.false_alarms,
        }


def evaluate(ruleset: RuleSet, drafts: Iterable[LabeledDraft]) -> Evaluation:
    """Run every draft through the rules and score the result against its labels."""
    result = Evaluation()
    for draft in drafts:
        result.total += 1
        review = ruleset.review(draft.text)
        flagged = flagged_categories(review)
        for category in draft.categories | flagged:
            score = result.categories.setdefault(category, CategoryScore())
            expected, got = category in draft.categories, category in flagged
            if expected and got:
                score.tp += 1
            elif expected:
                score.fn += 1
                result.misses.append({"id": draft.id, "category": category, "text": draft.text})
            else:
                score.fp += 1
                result.false_alarms.append(
                    {
                        "id": draft.id,
                        "category": category,
                        "text": draft.text,
                        "rules": sorted(
                            {f.rule_id for f in review.findings if f.category == category}
                        ),
                        "excerpts": [f.excerpt for f in review.findings if f.category == category],
                    }
                )
        if not draft.categories:
            result.clean_total += 1
            if not flagged:
                result.clean_quiet += 1
        if draft.approval:
            result.approval_total += 1
            if review.requires_approval:
                result.approval_hit += 1
            else:
                result.misses.append({"id": draft.id, "category": "approval", "text": draft.text})
        elif review.requires_approval:
            result.approval_false += 1
    return result
