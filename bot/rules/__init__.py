"""The rules engine: text in, findings out. Knows nothing of Slack, SQL, clocks or the environment."""

from .engine import RuleSet
from .loader import (
    PACKAGED_RULES,
    Problem,
    RulesError,
    find_rules_file,
    load_rules,
    load_rules_text,
)
from .types import Finding, Review

__all__ = [
    "PACKAGED_RULES",
    "Finding",
    "Problem",
    "Review",
    "RuleSet",
    "RulesError",
    "find_rules_file",
    "load_rules",
    "load_rules_text",
]
