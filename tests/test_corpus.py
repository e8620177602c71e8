"""The shipped rules measured on labeled drafts: they catch the risky ones and leave clean ones alone."""

import functools
from pathlib import Path

import pytest

from bot.rules import load_rules
from bot.rules.evaluate import evaluate, parse_corpus
from tests.rules_helpers import HOLDOUT_CORPORA, TRAINING_CORPORA

ROOT = Path(__file__).resolve().parent.parent
CATEGORIES = ["overboard", "privacy", "collaboration", "commitment", "competitor", "format"]

# The product promise: ≥ 90% of risky drafts flagged in every category they belong to, ≥ 95% of
# clean drafts without a warning, every collaboration proposal routed to a manager.
MIN_RECALL = 0.90
MIN_CLEAN = 0.95

# Training sets (dev*.yaml and the retired holdout.yaml … holdout48.yaml) tuned rules.yaml and
# trained its models; holdout49.yaml … holdout51.yaml were written blind (their authors never
# saw rules.yaml or the other sets) and never shown to whoever tuned the rules, so they estimate
# how the rules do on drafts nobody has seen (tests/rules_helpers.py lists both). Where a set
# still falls short of the promise, the test is a strict xfail: it documents the gap, and fails
# loudly the day the rules close it (then delete the entry).
KNOWN_SHORT = {
    ("holdout49.yaml", "overboard"): "blind set: 7 of 49 over-the-line drafts not flagged (86%)",
    ("holdout49.yaml", "competitor"): "blind set: 7 of 32 rival digs not flagged (78%)",
    ("holdout49.yaml", "clean"): "blind set: 6 of 100 clean drafts warned (94%)",
    ("holdout50.yaml", "overboard"): "blind set: 11 of 49 over-the-line drafts not flagged (78%)",
    ("holdout50.yaml", "competitor"): "blind set: 6 of 32 rival digs not flagged (81%)",
    ("holdout50.yaml", "approval"): "blind set: 1 of 38 proposals not routed",
    ("holdout51.yaml", "overboard"): "blind set: 5 of 49 over-the-line drafts not flagged (89.8%)",
    ("holdout51.yaml", "competitor"): "blind set: 6 of 33 rival digs not flagged (82%)",
    ("holdout51.yaml", "clean"): "blind set: 6 of 100 clean drafts warned (94%)",
}


@functools.cache
def _shipped_rules():
    # Loading runs every rule's examples (~3 s); once for all the sets is enough.
    return load_rules(ROOT / "rules.yaml")


@functools.cache
def result_for(name: str):
    """Return the shipped rules' evaluation on one labeled set (each set is evaluated once)."""
    path = ROOT / "tests" / "corpus" / name
    drafts = parse_corpus(path.read_text(encoding="utf-8"), name)
    assert len(drafts) >= 200  # a truncated or empty corpus must not pass quietly
    return evaluate(_shipped_rules(), drafts)


CORPORA = [*TRAINING_CORPORA, *HOLDOUT_CORPORA]


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("name", CORPORA)
def test_risky_drafts_are_flagged_in_every_category_they_belong_to(name, category):
    result = result_for(name)
    score = result.categories.get(category)
    if score is None or score.tp + score.fn == 0:
        pytest.skip(f"{name} has no {category} drafts")
    misses = [m["id"] for m in result.misses if m["category"] == category]
    _meets(name, category, score.recall >= MIN_RECALL, misses)


@pytest.mark.parametrize("name", CORPORA)
def test_clean_drafts_get_no_warning(name):
    result = result_for(name)
    alarms = [f["id"] for f in result.false_alarms if not f.get("categories")]
    _meets(name, "clean", result.clean_rate >= MIN_CLEAN, alarms)


@pytest.mark.parametrize("name", CORPORA)
def test_every_collaboration_proposal_requires_approval(name):
    result = result_for(name)
    if result.approval_total == 0:
        pytest.skip(f"{name} has no collaboration drafts")
    misses = [m["id"] for m in result.misses if m["category"] == "approval"]
    _meets(name, "approval", result.approval_rate == 1.0, misses)


def _meets(name: str, what: str, met: bool, misses: list[str]) -> None:
    """Assert the promise, or for a known gap expect it unmet (a strict xfail by hand)."""
    reason = KNOWN_SHORT.get((name, what))
    if reason is None:
        assert met, misses
    elif met:
        pytest.fail(f"{name}/{what} now meets the target: remove it from KNOWN_SHORT")
    else:
        pytest.xfail(reason)
