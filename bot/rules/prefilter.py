"""Required literals of a regex, so one Aho-Corasick pass can tell which patterns may match.

A pattern only runs on a draft that contains at least one of its trigger strings. The
extraction is conservative: whenever the pattern cannot be read with certainty, it has no
triggers and runs on every draft. Correctness never depends on it; only speed does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product

try:  # Python 3.11+
    from re import _constants as c
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - older interpreters
    import sre_constants as c  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

# Cross products of alternatives grow fast; past this many strings a set is not worth it.
_MAX_SET = 64
# Small character classes ([ぁぃ], [0-9]) are read as alternatives of single characters.
_MAX_CLASS = 10
# Characters in almost every draft: a trigger made only of these would fire all the time.
_COMMON = frozenset(" .,-!?、。・のはがとにをでもてたしいるなかさん@")
# Words in almost every draft (polite endings, English function words): as common.
_COMMON_WORDS = frozenset(
    [
        "ます",
        "です",
        "します",
        "ました",
        "でした",
        "して",
        "から",
        "ください",
        "ございます",
        "いたします",
        "まし",
        "ない",
        "とは",
        "には",
        "では",
        "での",
        "まで",
        "って",
        "よね",
        "ので",
        "のは",
        "のが",
        "こと",
        "もの",
        "さま",
        "the",
        "is",
        "it",
        "on",
        "we",
        "this",
        "for",
        "you",
        "your",
        "our",
        "to",
        "and",
        "of",
        "in",
        "are",
        "be",
        "at",
        "with",
        "that",
    ]
)


def _common(literal: str) -> bool:
    """Return True for a literal that occurs in most drafts."""
    if len(literal) == 1:
        return literal in _COMMON
    return literal.strip() in _COMMON_WORDS


# RE2 syntax that Python's parser reads differently (or not at all): such a pattern always runs.
_FOREIGN = ("\\C", "\\Q", "\\z", "(?U", "(?s", "(?m")
# A POSIX class ([[:alpha:]], [^[:space:]]) is foreign too; a class holding a colon ([:,]) is not.
_POSIX_CLASS = re.compile(r"\[:\^?[a-z]+:\]")

# RE2 spellings Python's parser does not read but can be said in its terms: a Unicode class
# (\pL, \p{Han}, \PN) becomes \w, a class either way, which never yields a literal; \x{1F600}
# becomes \U0001f600. Escaped backslashes are consumed in pairs, so \\pL stays text.
_ESCAPE = re.compile(r"\\(?:([pP])(?:\{\^?\w+\}|[A-Za-z])|x\{([0-9A-Fa-f]{1,6})\}|.)", re.DOTALL)


def _pythonic(source: str) -> str:
    """Return source with RE2's Unicode classes and hex escapes in Python's spelling."""

    def spell(m: re.Match[str]) -> str:
        if m.group(1):
            return "\\w"
        if m.group(2):
            return f"\\U{int(m.group(2), 16):08x}"
        return m.group(0)

    return _ESCAPE.sub(spell, source) if "\\" in source else source


@dataclass(frozen=True, slots=True)
class _Info:
    exact: frozenset[str] | None  # every string the piece can match, if few and known
    required: frozenset[str] | None  # a match always contains one of these, if known


_EMPTY = _Info(frozenset({""}), None)
_UNKNOWN = _Info(None, None)


def trigger_groups(source: str) -> tuple[frozenset[str], ...] | None:
    """Return one or two sets of strings; every match of source contains one of each set.

    The second set, when there is one, comes from another part of the pattern
    (@handle … 一緒に): a draft must hold both before the pattern runs. None: unknown.
    """
    source = _pythonic(source)
    if any(marker in source for marker in _FOREIGN) or _POSIX_CLASS.search(source):
        return None
    try:
        parsed = sre_parse.parse(source)
        spans: list[tuple[frozenset[str], int, int]] = []
        info = _sequence(list(parsed), spans)
    except (c.error, RecursionError, OverflowError, ValueError):
        return None
    if info.exact is not None:
        spans.append((info.exact, 0, len(parsed)))
    scored = [(score, strings, a, b) for strings, a, b in spans if (score := _score(strings))]
    if not scored:
        return None
    scored.sort(key=lambda item: item[0], reverse=True)
    score, first, a1, b1 = scored[0]
    for score2, second, a2, b2 in scored[1:]:
        # Another part of the pattern, and not so common that it would fire on every draft.
        if (b2 <= a1 or b1 <= a2) and score2[0] and score2[1] >= 2:
            return (first, second)
    return (first,)


def weak(groups: tuple[frozenset[str], ...] | None) -> bool:
    """Return True if a pattern with these trigger groups runs on most drafts anyway."""
    if not groups:
        return True
    score = _score(groups[0])
    return score is None or not score[0]  # only common words or characters to look for


def _score(strings: frozenset[str] | None) -> tuple[int, int, int] | None:
    """Rank a set of required strings: rarer, then longer shortest string, then fewer."""
    if not strings:
        return None
    shortest = min(map(len, strings))
    if shortest == 0:
        return None
    rare = not any(_common(x) for x in strings)
    return (int(rare), min(shortest, 4), -len(strings))


def _best(candidates: list[frozenset[str] | None]) -> frozenset[str] | None:
    """Pick the most selective candidate (see _score)."""
    best: frozenset[str] | None = None
    best_score = (0, 0, 0)
    for strings in candidates:
        score = _score(strings)
        if score is not None and (best is None or score > best_score):
            best, best_score = strings, score
    return best


def _cross(a: frozenset[str], b: frozenset[str]) -> frozenset[str] | None:
    if len(a) * len(b) > _MAX_SET:
        return None
    if len(a) == 1 and "" in a:
        return b
    if len(b) == 1 and "" in b:
        return a
    return frozenset(x + y for x, y in product(a, b))


def _pieces(items: list[tuple[object, object]]) -> list[_Info]:
    """Read each item of a sequence; consecutive literal characters become one string."""
    pieces: list[_Info] = []
    chars: list[str] = []
    for op, av in items:
        if op is c.LITERAL:
            chars.append(chr(av).lower())  # type: ignore[arg-type]
            continue
        if chars:
            pieces.append(_Info(frozenset({"".join(chars)}), None))
            chars = []
        pieces.append(_item(op, av))
    if chars:
        pieces.append(_Info(frozenset({"".join(chars)}), None))
    return pieces


def _sequence(
    items: list[tuple[object, object]],
    spans: list[tuple[frozenset[str], int, int]] | None = None,
) -> _Info:
    """Read a concatenation; spans, if given, collects each required set and where it lies."""
    candidates: list[frozenset[str] | None] = []
    whole: frozenset[str] | None = frozenset({""})
    # A run of consecutive pieces with known strings: their cross product must occur.
    run: frozenset[str] = frozenset({""})
    run_start = 0
    pieces = _pieces(items)
    for i, info in enumerate(pieces):
        candidates.append(info.required)
        if spans is not None and info.required:
            spans.append((info.required, i, i + 1))
        if info.exact is None:
            candidates.append(run)
            if spans is not None and run:
                spans.append((run, run_start, i))
            run = frozenset({""})
            run_start = i + 1
        else:
            longer = _cross(run, info.exact)
            if longer is None:  # too many strings: keep what we have, start again here
                candidates.append(run)
                if spans is not None:
                    spans.append((run, run_start, i))
                longer = info.exact
                run_start = i
            run = longer
        if whole is not None:
            whole = None if info.exact is None else _cross(whole, info.exact)
    candidates.append(run)
    if spans is not None and run:
        spans.append((run, run_start, len(pieces)))
    return _Info(whole, _best(candidates))


def _item(op: object, av: object) -> _Info:
    if op is c.LITERAL:
        return _Info(frozenset({chr(av).lower()}), None)  # type: ignore[arg-type]
    if op is c.AT:
        return _EMPTY  # zero width: ^ $ \b
    if op is c.IN:
        return _Info(_class(av), None)  # type: ignore[arg-type]
    if op is c.SUBPATTERN:
        return _sequence(list(av[-1]))  # type: ignore[index]
    if op is c.BRANCH:
        alternatives = [_sequence(list(alt)) for alt in av[1]]  # type: ignore[index]
        exact: frozenset[str] | None = frozenset()
        required: frozenset[str] | None = frozenset()
        for alt in alternatives:
            if exact is not None:
                exact = None if alt.exact is None else exact | alt.exact
            if required is not None:
                own = _best([alt.required, alt.exact])
                required = None if own is None else required | own
        if exact is not None and len(exact) > _MAX_SET:
            exact = None
        return _Info(exact, required)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
        low, high, sub = av  # type: ignore[misc]
        inner = _sequence(list(sub))
        if low == 0:
            if high == 1 and inner.exact is not None:  # x? is x or nothing
                return _Info(inner.exact | {""}, None)
            return _UNKNOWN
        exact = None
        if low == high and inner.exact is not None and low <= 4:
            exact = frozenset({""})
            for _ in range(low):
                exact = _cross(exact, inner.exact) if exact is not None else None
        return _Info(exact, _best([inner.required, inner.exact]))
    return _UNKNOWN  # ANY, NOT_LITERAL, CATEGORY, GROUPREF, ASSERT, …


def _class(items: list[tuple[object, object]]) -> frozenset[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is c.LITERAL:
            chars.add(chr(av).lower())  # type: ignore[arg-type]
        elif op is c.RANGE:
            low, high = av  # type: ignore[misc]
            if high - low >= _MAX_CLASS:
                return None
            chars.update(chr(x).lower() for x in range(low, high + 1))
        else:
            return None  # NEGATE, CATEGORY
        if len(chars) > _MAX_CLASS:
            return None
    return frozenset(chars)
