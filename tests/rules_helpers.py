"""Small builders for rules files used across the engine and CLI tests."""

from __future__ import annotations

import textwrap

from bot.rules import RuleSet, load_rules_text

# The labeled corpora in tests/corpus/. Training sets tuned rules.yaml and trained its models
# (holdout.yaml … holdout48.yaml were blind tests once; once measured they joined the training
# data). Hold-outs were written blind and never shown to whoever tuned the rules or trained the
# models: they estimate how the rules do on drafts nobody has seen.
TRAINING_CORPORA = (
    *(f"dev{n}.yaml" for n in ("", *range(2, 57))),
    *(f"holdout{n}.yaml" for n in ("", *range(2, 49))),
)
HOLDOUT_CORPORA = ("holdout49.yaml", "holdout50.yaml", "holdout51.yaml")


def rules_yaml(body: str, locale: str = "ja") -> str:
    """Return a complete rules.yaml with the given (indented) rules list body."""
    return f"version: 1\nlocale: {locale}\nrules:\n" + textwrap.indent(textwrap.dedent(body), "  ")


def ruleset(body: str, locale: str = "ja") -> RuleSet:
    """Compile a rules file from a rules list body."""
    return load_rules_text(rules_yaml(body, locale))


def rule_ids(rs: RuleSet, text: str) -> list[str]:
    """Return the rule ids that fire on text, in text order."""
    return [f.rule_id for f in rs.review(text).findings]
