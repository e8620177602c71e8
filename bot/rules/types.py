"""Result types of a review: findings and the verdict they add up to."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

Severity = Literal["info", "warning", "error"]
Verdict = Literal["ok", "warn", "approval", "block"]

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a rule found in a draft; offsets are code points into the original text."""

    rule_id: str
    category: str
    severity: Severity
    requires_approval: bool
    start: int
    end: int
    excerpt: str
    message: str
    suggestion: str | None = None
    guideline: str | None = None
    confidence: str = "high"

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as the JSON object of the CLI contract."""
        return {name: getattr(self, name) for name in _FINDING_FIELDS}


_FINDING_FIELDS = tuple(f.name for f in fields(Finding))


@dataclass(frozen=True, slots=True)
class Review:
    """The findings for one draft and the verdict they add up to."""

    text: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> Verdict:
        """Return block, approval, warn or ok, in that order of precedence."""
        if any(f.severity == "error" for f in self.findings):
            return "block"
        if any(f.requires_approval for f in self.findings):
            return "approval"
        if any(f.severity == "warning" for f in self.findings):
            return "warn"
        return "ok"

    @property
    def requires_approval(self) -> bool:
        """Return True when any finding routes the draft to a manager."""
        return any(f.requires_approval for f in self.findings)

    def to_dict(self, draft_id: Any = None) -> dict[str, Any]:
        """Return the review as the JSON object of the CLI contract."""
        return {
            "id": draft_id,
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
        }
