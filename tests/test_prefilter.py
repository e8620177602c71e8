"""The pattern prefilter: a pattern is skipped only on drafts where it cannot match."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import re2
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.batch import review_lines
from bot.rules import load_rules
from bot.rules.normalize import base_key, evasion_key
from bot.rules.prefilter import trigger_groups
from tests.rules_helpers import ruleset

ROOT = Path(__file__).resolve().parent.parent


def _opts() -> re2.Options:
    opts = re2.Options()
    opts.case_sensitive = False
    return opts


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("一緒に.{0,12}(しませんか|やりましょう)", {"しませんか", "やりましょう"}),
        (r"\b(congrats|thanks)\b", {"congrats", "thanks"}),
        ("返金(します|いたします)", {"返金します", "返金いたします"}),
        (
            "(社|店)(さん)?(の|は)",
            {"社の", "社は", "店の", "店は", "社さんの", "社さんは", "店さんの", "店さんは"},
        ),
        ("LINE|ライン", {"line", "ライン"}),  # the key is lower case: so are the triggers
        ("x{2}y", {"xxy"}),
        # RE2's Unicode classes and hex escapes are read too (a class never yields a literal)
        (r"\p{Han}+さん", {"さん"}),
        (r"(thanks|kudos) to [\pL'-]+", {"thanks", "kudos"}),
        (r"寒そう[\x{1F300}-\x{1FAFF}]", {"寒そう"}),
        (r"a\\pLb", {"a\\plb"}),  # an escaped backslash, then the letters p L
    ],
)
def test_triggers_are_the_literals_every_match_must_contain(pattern, expected):
    assert trigger_groups(pattern)[0] == expected  # the set looked for first


def test_a_class_holding_a_colon_is_not_mistaken_for_a_posix_class():
    assert trigger_groups("(stuck|burned) by[:,] ?(we exist|try us)") == (
        frozenset({"stuck", "burned"}),
        frozenset({"we exist", "try us"}),
    )


def test_a_second_set_from_another_part_of_the_pattern_must_also_be_present():
    assert trigger_groups("(明日|来週)[^。]{0,5}(だよ|ですよ)") == (
        frozenset({"明日", "来週"}),
        frozenset({"だよ", "ですよ"}),
    )
    # One-character particles are not worth a second set: they are in every draft.
    assert trigger_groups("(社|店)[^。]{0,3}(の|は)") == (frozenset({"社", "店"}),)


@pytest.mark.parametrize(
    "pattern",
    [
        "(ab)*",  # may match without any literal
        "a?",
        ".{3,}",
        "[[:alpha:]]x",  # RE2 syntax Python reads differently: never guessed
        "[^[:space:]]x",
        r"\p{Han}+",  # a Unicode class alone holds no literal
        "(?s)a.b",
    ],
)
def test_patterns_without_a_sure_literal_always_run(pattern):
    assert trigger_groups(pattern) is None


def _shipped_patterns() -> list[tuple[str, bool]]:
    """Every pattern of the shipped rules (hits and context), normalized as the engine does."""
    rs = load_rules(ROOT / "rules.yaml")
    return [
        (source, matcher is rs._evasion)
        for matcher in (rs._base, rs._evasion, rs._guards)
        for (_, source, *_rest) in matcher._sources
    ]


def _drafts() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "tests" / "corpus").glob("dev*.yaml")):
        texts.extend(item["text"] for item in yaml.safe_load(path.read_text("utf-8")))
    rules = yaml.safe_load((ROOT / "rules.yaml").read_text("utf-8"))["rules"]
    for rule in rules:
        for side in ("match", "no_match"):
            texts.extend((rule.get("examples") or {}).get(side) or [])
    return [t for t in texts if isinstance(t, str)]  # not the {repeat, times} examples


def test_no_shipped_pattern_matches_a_draft_that_lacks_all_of_its_triggers():
    keys = [base_key(t) for t in _drafts()]
    evasion = [evasion_key(k).text for k in keys]
    plain = [k.text for k in keys]
    # Texts are searched 200 at a time, joined by line breaks, and one by one only in a block
    # where the pattern matches: a match in a text is a match in its block (a line break is
    # what \b sees at a text's edge too), except for anchors, which are searched text by text.
    blocks = {
        kind: [
            (texts[i : i + 200], "\n".join(texts[i : i + 200])) for i in range(0, len(texts), 200)
        ]
        for kind, texts in (("evasion", evasion), ("plain", plain))
    }
    checked = 0
    for source, is_evasion in _shipped_patterns():
        groups = trigger_groups(source)
        if groups is None:
            continue
        regex = re2.compile(source, _opts())
        outside_classes = re.sub(r"\[(?:\\.|[^\]])*\]", "", source)  # [^。] is no anchor
        anchored = any(a in outside_classes for a in ("^", "$", "\\A", "\\z"))
        candidates = [
            text
            for texts, joined in blocks["evasion" if is_evasion else "plain"]
            if anchored or regex.search(joined) is not None
            for text in texts
        ]
        for text in candidates:
            if regex.search(text) is not None:
                for found in groups:
                    assert any(t in text for t in found), (source, text, sorted(found))
                checked += 1
    assert checked > 500  # the corpora really exercise the patterns


_PIECES = [
    "一緒に",
    "コラボ",
    "しませんか",
    "社",
    "さん",
    "の",
    "は",
    "返金",
    "します",
    " ",
    "a",
    "b",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), min_size=1, max_size=6).map("".join),
    st.lists(st.sampled_from([*_PIECES, "x", "。", "!"]), max_size=12).map("".join),
)
def test_a_draft_without_any_trigger_never_matches_the_pattern(literal_mix, text):
    # Patterns built from the same pieces, with optional parts, alternations and repeats.
    for pattern in (
        literal_mix,
        f"({literal_mix})?x",
        f"(?:{literal_mix}|さん)+の",
        f"{literal_mix}.{{0,5}}(します|は)",
    ):
        groups = trigger_groups(pattern)
        if groups is None:
            continue
        if re2.compile(pattern, _opts()).search(text) is not None:
            for found in groups:
                assert any(t in text for t in found), (pattern, text, sorted(found))


def test_a_large_batch_is_reviewed_by_worker_processes_in_input_order(monkeypatch):
    import bot.batch

    monkeypatch.setattr(bot.batch, "PARALLEL_MIN_LINES", 1)
    monkeypatch.setattr(bot.batch, "CHUNK_LINES", 3)
    rs = ruleset(
        """
        - id: collaboration.word
          category: collaboration
          requires_approval: true
          message: "コラボは承認が必要です"
          terms: [コラボ]
          examples: {match: [コラボ], no_match: [こんにちは]}
        """
    )
    lines = [f'{{"id": {i}, "text": "コラボ {i}"}}' for i in range(20)] + ["{oops"]

    def where(kind: str, line: int, detail: str) -> str:
        return f"{kind}:{line}:{os.getpid()}"  # which process handled the line

    chunks = list(review_lines(rs, lines, where, jobs=2))
    output = "".join(c.output for c in chunks)
    rows = [yaml.safe_load(line) for line in output.splitlines()]
    assert [r["id"] for r in rows[:20]] == list(range(20))
    assert all(r["verdict"] == "approval" for r in rows[:20])
    assert rows[20]["error"].startswith("batch_json:21:")
    assert int(rows[20]["error"].rsplit(":", 1)[1]) != os.getpid()
    assert any(c.flagged for c in chunks) and chunks[-1].bad
