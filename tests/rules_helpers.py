"""Small builders for rules files used across the engine and CLI tests."""

from __future__ import annotations

import textwrap

from bot.rules import RuleSet, load_rules_text


def rules_yaml(body: str, locale: str = "ja") -> str:
    """Return a complete rules.yaml with the given (indented) rules list body."""
    return f"version: 1\nlocale: {locale}\nrules:\n" + textwrap.indent(textwrap.dedent(body), "  ")


def ruleset(body: str, locale: str = "ja") -> RuleSet:
    """Compile a rules file from a rules list body."""
    return load_rules_text(rules_yaml(body, locale))


def rule_ids(rs: RuleSet, text: str) -> list[str]:
    """Return the rule ids that fire on text, in text order."""
    return [f.rule_id for f in rs.review(text).findings]
