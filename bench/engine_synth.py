"""Generate a synthetic rules file of any size (terms, gapped patterns, allow, near/unless, examples).

Usage: .venv/bin/python bench/engine_synth.py --rules 2000 -o /tmp/synth.yaml

Rules are built one by one from a per-index random stream, so the first N rules of a 2,000-rule
file are exactly the N-rule file: rule-count scaling compares like with like. Every rule carries
two-sided examples that the loader checks, as in a real file.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

import yaml
from engine_drafts import EN_PHRASES, HANDLES, HASHTAGS, JA_SENTENCES

from bot.rules.normalize import base_key, evasion_key, normalize_term

KATAKANA = (
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨ"
    "ラリルレロワガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポ"
)
KANJI = "鞄麒麟鳳凰瑠璃玻璃琥珀翡翠珊瑚瑪瑙櫻楓椿柊榊樺蕾萌穣灯燈霞靄霧雫凪颯"
CONSONANTS = "bcdfgklmnprstvz"
VOWELS = "aeiou"
CATEGORIES = ("overboard", "privacy", "collaboration", "commitment", "competitor", "brand")

# The pool every clean example and every draft is built from: a term must never occur in it,
# or a rule's no_match example (and every draft) would trip it by accident.
_POOL = "".join(JA_SENTENCES) + " ".join(EN_PHRASES) + " ".join(HANDLES) + " ".join(HASHTAGS)
_POOL_KEYS = (base_key(_POOL).text, evasion_key(base_key(_POOL)).text)


class _Words:
    """Made-up words that are unique and absent from the draft pool."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def _fresh(self, word: str) -> bool:
        keys = {normalize_term(word), normalize_term(word, evasion=True)}
        if any(k in pool for k in keys for pool in _POOL_KEYS):
            return False
        if any(k in self.used for k in keys):
            return False
        self.used.update(keys)
        return True

    def katakana(self, rng: random.Random, low: int = 3, high: int = 5) -> str:
        while True:
            word = "".join(rng.choice(KATAKANA) for _ in range(rng.randint(low, high)))
            if self._fresh(word):
                return word

    def kanji(self, rng: random.Random) -> str:
        while True:
            word = "".join(rng.choice(KANJI) for _ in range(3))
            if self._fresh(word):
                return word

    def latin(self, rng: random.Random) -> str:
        while True:
            syllables = rng.randint(2, 3)
            word = "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(syllables))
            word += rng.choice(CONSONANTS)
            if self._fresh(word):
                return word


def _hiragana(word: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in word)


def _metric_rules() -> list[dict[str, Any]]:
    return [
        {
            "id": "format.x",
            "category": "format",
            "message": "X の上限 {max} を {over} 超えています（{value}）",
            "metric": {"kind": "x_weighted_length", "max": 280},
            "examples": {
                "match": [{"repeat": "あ", "times": 141}],
                "no_match": [{"repeat": "あ", "times": 140}],
            },
        },
        {
            "id": "format.hashtags",
            "category": "format",
            "severity": "info",
            "message": "ハッシュタグが多すぎます（{value}）",
            "metric": {"kind": "hashtags", "max": 5},
            "examples": {
                "match": ["#あ #い #う #え #お #か"],
                "no_match": ["#あ #い"],
            },
        },
    ]


def _rule(i: int, seed: int, words: _Words) -> dict[str, Any]:
    rng = random.Random(f"{seed}:{i}")
    pre, post = rng.choice(JA_SENTENCES), rng.choice(JA_SENTENCES)
    category = rng.choice(CATEGORIES)
    rule: dict[str, Any] = {
        "id": f"synth.{category}.r{i:04d}",
        "category": category,
        "severity": rng.choice(("info", "warning", "warning", "error")),
        "message": f"合成ルール {i}（{category}）に該当します",
    }
    if rng.random() < 0.1:
        rule["requires_approval"] = True
    kind = rng.choices(
        ("terms", "latin", "replace", "pattern", "near", "unless", "followed"),
        weights=(35, 8, 12, 20, 10, 10, 5),
    )[0]
    match: list[str] = []
    no_match: list[str] = [f"{pre}{post}"]
    if kind == "terms":
        terms = [
            words.kanji(rng) if rng.random() < 0.25 else words.katakana(rng)
            for _ in range(rng.randint(1, 4))
        ]
        rule["terms"] = terms
        match.append(f"{pre}「{terms[0]}」{post}")
        if rng.random() < 0.3:
            allowed = terms[0] + words.katakana(rng, 2, 2)
            rule["allow"] = [allowed]
            no_match.append(f"{pre}「{allowed}」{post}")
        if rng.random() < 0.25 and all(t[0] in KATAKANA for t in terms):
            rule["evasion"] = True
            match.append(f"{pre}{_hiragana(terms[-1])}{post}")
            match.append("・".join(terms[0]))
    elif kind == "latin":
        terms = [words.latin(rng) for _ in range(rng.randint(1, 3))]
        rule["terms"] = terms
        match.append(f"{pre} {terms[0].upper()} {post}")
        no_match.append(f"{pre} {terms[0]}s {post}")  # a longer word is not the term
    elif kind == "replace":
        pairs = {words.katakana(rng): words.katakana(rng) for _ in range(rng.randint(1, 3))}
        rule["replace"] = pairs
        first, better = next(iter(pairs.items()))
        match.append(f"{pre}{first}{post}")
        no_match.append(f"{pre}{better}{post}")
    elif kind == "pattern":
        left, right, alt = words.katakana(rng), words.katakana(rng), words.katakana(rng)
        gap = rng.randint(4, 15)
        rule["patterns"] = [f"{left}.{{0,{gap}}}(?:{right}|{alt})"]
        if rng.random() < 0.4:
            rule["terms"] = [words.kanji(rng)]
        filler = "の" * (gap // 2)
        match.append(f"{pre}{left}{filler}{right}{post}")
        no_match.append(f"{left}{'の' * (gap + 3)}{alt}")
    elif kind in ("near", "unless"):
        term, context = words.katakana(rng), words.katakana(rng)
        rule["terms"] = [term]
        rule[kind] = {"terms": [context], "within": 10}
        if kind == "near":
            match.append(f"{pre}{term}と{context}{post}")
            no_match.append(f"{term}{pre}{post}{context}")
        else:
            match.append(f"{pre}{term}{post}")
            no_match.append(f"{pre}{term}と{context}{post}")
    else:
        term, after = words.katakana(rng), words.katakana(rng, 2, 2)
        rule["terms"] = [term]
        rule["not_followed_by"] = [after]
        match.append(f"{pre}{term}が{post}")
        no_match.append(f"{pre}{term}{after}{post}")
    rule["examples"] = {"match": match, "no_match": no_match}
    return rule


def synthetic_rules(n: int, seed: int = 7) -> dict[str, Any]:
    """Return a rules file (as data) with n rules: two metric rules then generated ones."""
    words = _Words()
    rules = _metric_rules()[: max(0, n)]
    i = 0
    while len(rules) < n:
        rules.append(_rule(i, seed, words))
        i += 1
    return {"version": 1, "locale": "ja", "rules": rules}


def write_synthetic_rules(path: Path, n: int, seed: int = 7) -> Path:
    """Write an n-rule synthetic rules file to path and return path."""
    data = synthetic_rules(n, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
    path.write_text(text, encoding="utf-8")
    return path


def main() -> None:
    """Write a synthetic rules file from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=2000, help="number of rules")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    write_synthetic_rules(args.output, args.rules, args.seed)


if __name__ == "__main__":
    main()
