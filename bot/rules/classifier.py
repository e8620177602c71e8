"""A small character n-gram logistic regression that scores a draft for one category."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from itertools import pairwise, repeat
from operator import add
from typing import Any

from .normalize import base_key

# Version 1: character n-grams and English words, each counted as often as it occurs.
# Version 2 adds the feature scheme's switches `word_pairs` (adjacent English words) and
# `binary` (a feature counts once per draft); a version 1 file is read with both off.
FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)

_URL = re.compile(r"https?://\S+")
_MENTION = re.compile(r"[@＠][0-9a-z_]+")
_DIGITS = re.compile(r"[0-9]+")
_WORD = re.compile(r"[a-z][a-z']*")
# Markers that cannot occur in a normalized draft: text boundaries and the word-feature prefix.
_BOS, _EOS, _WORD_MARK = "\x02", "\x03", "\x01"


def _fold(t: str) -> str:
    """Fold a base key's URLs, mentions and digits, and collapse its whitespace."""
    if "http" in t:
        t = _URL.sub("u", t)
    if "@" in t:
        t = _MENTION.sub("@", t)
    t = _DIGITS.sub("0", t)
    return " ".join(t.split())


# Between drafts folded together: the line breaks end any URL or mention, and no draft holds
# a NUL (checked), so the folds cannot reach across it.
_APART = "\n\x00\n"


def _fold_many(keys: Sequence[str]) -> list[str]:
    """Return _fold of each base key, folding them all in one pass of each regex."""
    joined = _APART.join(keys)
    if len(keys) < 2 or "\x00" in joined:
        return [_fold(key) for key in keys]
    if "http" in joined:
        joined = _URL.sub("u", joined)
    if "@" in joined:
        joined = _MENTION.sub("@", joined)
    joined = _DIGITS.sub("0", joined)
    return [" ".join(t.split()) for t in joined.split(_APART)]


def _grams(
    text: str, n_min: int, n_max: int, words: bool, word_pairs: bool = False
) -> list[list[str]]:
    """Return the draft's features as one list per n-gram length, then English words."""
    return _grams_of_key(base_key(text).text, n_min, n_max, words, word_pairs)


def _word_features(t: str, words: bool, word_pairs: bool) -> list[str]:
    """Return a folded draft's English word features: words of 2+ letters, adjacent pairs."""
    found = _WORD.findall(t)
    out = [_WORD_MARK + w for w in found if len(w) > 1] if words else []
    if word_pairs:
        out += [_WORD_MARK + a + " " + b for a, b in pairwise(found)]
    return out


def _grams_of_key(
    key: str, n_min: int, n_max: int, words: bool, word_pairs: bool = False
) -> list[list[str]]:
    """Return the features of a draft given its base key (see normalize.base_key)."""
    t = _fold(key)
    padded = _BOS + t + _EOS
    out: list[list[str]] = []
    grams = list(padded)
    for n in range(1, n_max + 1):
        if n > 1:
            grams = list(map(add, grams, padded[n - 1 :]))  # string adds run in C
        if n >= n_min:
            out.append(grams)
    if words or word_pairs:
        out.append(_word_features(t, words, word_pairs))
    return out


def features(
    text: str, n_min: int = 1, n_max: int = 3, words: bool = True, word_pairs: bool = False
) -> list[str]:
    """Return the features of a draft, with repeats: character n-grams and English words."""
    return [g for part in _grams(text, n_min, n_max, words, word_pairs) for g in part]


def _sigmoid(z: float) -> float:
    """Return the logistic function of z without overflow."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass
class Model:
    """A binary logistic regression over sparse n-gram features."""

    weights: dict[str, float]
    bias: float
    n_min: int = 1
    n_max: int = 3
    words: bool = True
    word_pairs: bool = False  # also adjacent English words
    binary: bool = False  # a feature's weight counts once per draft, however often it occurs
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def setting(self) -> tuple[int, int, bool, bool]:
        """The settings that decide a draft's features (models sharing them share tables)."""
        return (self.n_min, self.n_max, self.words, self.word_pairs)

    @property
    def scheme(self) -> tuple[int, int, bool, bool, bool]:
        """The settings and `binary`: models sharing them add up the very same features."""
        return (*self.setting, self.binary)

    def margin(self, text: str) -> float:
        """Return the raw score (log-odds) of a draft."""
        return self._margin(_grams(text, *self.setting))

    def _margin(self, parts: list[list[str]]) -> float:
        """Return the log-odds of a draft given its features.

        The sum is divided by the root of the number of features with repeats, even when
        `binary` counts each distinct feature's weight once.
        """
        return self._margin_of(*_prepared(parts, self.binary))

    def _margin_of(self, parts: list[list[str]], count: int) -> float:
        """Return the log-odds given features already prepared by _prepared."""
        if not count:
            return self.bias
        get, zero = self.weights.get, repeat(0.0)
        return self.bias + sum(sum(map(get, part, zero)) for part in parts) / math.sqrt(count)

    def score(self, text: str) -> float:
        """Return the probability that the draft belongs to the category."""
        return _sigmoid(self.margin(text))

    def to_dict(self) -> dict[str, Any]:
        """Return the model as JSON-ready data."""
        return {
            "version": FORMAT_VERSION,
            "n_min": self.n_min,
            "n_max": self.n_max,
            "words": self.words,
            "word_pairs": self.word_pairs,
            "binary": self.binary,
            "bias": round(self.bias, 6),
            "weights": {g: round(w, 5) for g, w in sorted(self.weights.items())},
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        """Build a model from data written by to_dict."""
        version = data.get("version")
        if version not in _READABLE_VERSIONS:
            raise ValueError(
                f"unsupported classifier model version: {version!r} (this social-review reads "
                f"versions {', '.join(map(str, _READABLE_VERSIONS))}: retrain it with "
                "`social-review rules train` or upgrade social-review)"
            )
        # Version 1 knew neither switch: its models were trained with both off.
        scheme = {"word_pairs": False, "binary": False}
        if version >= 2:
            for key in scheme:
                if not isinstance(data.get(key), bool):
                    raise ValueError(f"a version {version} model needs `{key}`: true or false")
                scheme[key] = data[key]
        weights = data["weights"]
        if not isinstance(weights, dict):
            raise ValueError("weights must be a mapping of n-grams to numbers")
        # One pass in C: a string or null among 30k weights raises here, at load time, not in
        # the middle of a review (a per-item float() copy cost ~6 ms per model at start-up).
        math.fsum(weights.values())
        return cls(
            weights=weights,
            bias=float(data["bias"]),
            n_min=int(data["n_min"]),
            n_max=int(data["n_max"]),
            words=bool(data["words"]),
            word_pairs=scheme["word_pairs"],
            binary=scheme["binary"],
            meta=dict(data.get("meta", {})),
        )


def _prepared(parts: list[list[str]], binary: bool) -> tuple[list[list[str]], int]:
    """Return the features a model adds up, and how many the draft has (with repeats)."""
    count = sum(map(len, parts))
    if binary:
        # Sorted: the order the numpy tables add in (codes sort as their strings do).
        parts = [sorted(set(part)) for part in parts]
    return parts, count


# Every n-gram becomes one integer: its code points in base 0x110000 (three fit in 63 bits),
# so a draft's features are looked up all at once in a sorted array (numpy), not one by one.
_BASE = 0x110000


def _gram_codes(np: Any, grams: Sequence[str]) -> Any:
    """Return the integer code of each character n-gram (n <= 3): its code points in base _BASE."""
    lengths = np.fromiter(map(len, grams), np.int64, len(grams))
    text = "".join(grams).encode("utf-32-le", "surrogatepass")
    chars = np.frombuffer(text, dtype=np.uint32).astype(np.int64)
    starts = np.cumsum(lengths) - lengths
    codes = chars[starts]
    for k in (1, 2):
        longer = np.flatnonzero(lengths > k)
        codes[longer] = codes[longer] * _BASE + chars[starts[longer] + k]
    return codes


# Multiplicative hashing (Fibonacci) of n-gram codes into a power-of-two table.
_HASH_MULT = 0x9E3779B97F4A7C15
_EMPTY = -1  # an empty slot: codes are never negative
# Drafts scored per numpy pass in Scorer._table_margins.
_TABLE_DRAFTS = 64


class Scorer:
    """Scores drafts with several models at once: the hot path of every review.

    The first few drafts are scored in plain Python (a one-draft `check` should not pay for
    importing numpy and building tables: ~60 ms). From then on the models' n-gram weights
    sit in one matrix (a row per feature, in the order of the features' integer codes, a
    column per model); drafts' n-grams become integer codes with numpy, are found in a hash
    table, and each model's sum is a per-draft bincount. Both ways give Model.score's
    result; the tables add a draft's weights in the same order whether it is scored alone
    or with others (by feature code), so a score does not depend on its batch.
    """

    # Drafts scored in plain Python before the tables are built.
    WARM_UP = 8

    def __init__(self, models: Sequence[Model], warm_up: int | None = None) -> None:
        self.models = list(models)
        self._left = self.WARM_UP if warm_up is None else warm_up
        self._groups: list[_Group] = []
        self._np: Any = None

    def scores(self, key: str) -> list[float]:
        """Return each model's probability for a draft, given its base key."""
        return self.scores_many([key])[0]

    def scores_many(self, keys: Sequence[str]) -> list[list[float]]:
        """Return each model's probability for each draft, as scores() one by one would."""
        return [list(map(_sigmoid, margins)) for margins in self.margins_many(keys)]

    def margins_many(self, keys: Sequence[str]) -> list[list[float]]:
        """Return each model's log-odds for each draft (the scores before the sigmoid)."""
        out: list[list[float]] = []
        i = 0
        while self._np is None and self._left > 0 and i < len(keys):
            self._left -= 1
            out.append(self._plain_margins(keys[i]))
            i += 1
        if i < len(keys):
            if self._np is None:
                self._build()
            out.extend(self._table_margins(keys[i:] if i else keys))
        return out

    def highest(self, models: Sequence[int], keys: Sequence[str]) -> list[int]:
        """Return, for each model index, the index of the key it scores highest (first on a tie).

        Used to point a flagged draft at its most telling sentence: every sentence is scored
        by every model in one pass, however many models flagged the draft.
        """
        # Not margins_many: scoring sentences must neither use up the warm-up nor build the
        # tables (a one-draft `check` would pay ~0.3 s for them).
        if self._np is None:
            margins = [self._plain_margins(key) for key in keys]
        else:
            margins = self._table_margins(keys)
        return [
            max(range(len(keys)), key=lambda k, m=m: margins[k][m]) if keys else 0 for m in models
        ]

    def _plain_margins(self, key: str) -> list[float]:
        # Features read (and, for binary models, made distinct) once per scheme, not per model.
        cache: dict[tuple[int, int, bool, bool, bool], tuple[list[list[str]], int]] = {}
        out = []
        for m in self.models:
            prepared = cache.get(m.scheme)
            if prepared is None:
                prepared = cache[m.scheme] = _prepared(_grams_of_key(key, *m.setting), m.binary)
            out.append(m._margin_of(*prepared))
        return out

    def build(self) -> None:
        """Build the numpy tables now rather than after the warm-up drafts."""
        if self._np is None:
            self._build()

    @property
    def built(self) -> bool:
        """Whether the numpy tables are in place."""
        return self._np is not None

    def tables(self) -> list[_Group]:
        """Return the numpy tables (built if need be), to keep for another process."""
        self.build()
        return self._groups

    def use_tables(self, tables: object) -> bool:
        """Take tables that tables() gave for the same models; False if these cannot be."""
        if not isinstance(tables, list) or not all(isinstance(g, _Group) for g in tables):
            return False
        members = sorted(i for g in tables for i in g.members)
        settings = {i: g.setting for g in tables for i in g.members}
        if members != list(range(len(self.models))) or any(
            settings[i] != m.scheme for i, m in enumerate(self.models)
        ):
            return False
        import numpy as np

        self._groups = tables
        self._np = np
        return True

    def _build(self) -> None:
        import numpy as np  # only rules files with a classifier, scoring many drafts, pay for it

        groups: list[_Group] = []
        settings: dict[tuple[int, int, bool, bool, bool], list[int]] = {}
        for i, m in enumerate(self.models):
            if m.n_max > 3:
                raise ValueError("the scorer reads n-grams up to 3 characters")
            settings.setdefault(m.scheme, []).append(i)
        for setting, members in settings.items():
            # Built before every large batch (~70k features): each step runs in C or numpy.
            # n-grams need no sort: their rows are put in code order below (codes are distinct).
            # Words keep sorted rows: a binary model adds a draft's words in row order.
            grams: list[str] = []
            words: list[str] = []
            for g in set().union(*(self.models[i].weights for i in members)):
                (words if g.startswith(_WORD_MARK) else grams).append(g)
            words.sort()
            rows = {g: r for r, g in enumerate(grams + words)}
            matrix = np.zeros((len(rows) + 1, len(members)))  # the last row: unknown feature
            for col, i in enumerate(members):
                weights = self.models[i].weights
                at = np.fromiter(map(rows.__getitem__, weights), np.int64, len(weights))
                matrix[at, col] = np.fromiter(weights.values(), np.float64, len(weights))
            codes = _gram_codes(np, grams)
            order = np.argsort(codes, kind="stable")
            # n-gram weights in the order of their sorted codes; the words' rows and the unknown
            # row after them, in a matrix of their own (the n-gram rows are kept once, by code)
            by_code = matrix[order] if len(grams) else matrix[:0]
            n_grams = len(grams)
            word_rows = {g: rows[g] - n_grams for g in words}
            groups.append(
                _Group(
                    setting,
                    members,
                    codes[order],
                    by_code,
                    _hash_table(np, codes[order]),
                    word_rows,
                    matrix[n_grams:].copy(),
                )
            )
        self._groups = groups
        self._np = np  # last: another thread sees either no tables or complete ones

    def _table_margins(self, keys: Sequence[str]) -> list[list[float]]:
        if len(keys) == 1:
            return [self._table_one(keys[0])]
        out: list[list[float]] = []
        # A few dozen drafts per numpy pass: fewer calls per draft, arrays still in cache.
        for i in range(0, len(keys), _TABLE_DRAFTS):
            out.extend(self._table_batch(keys[i : i + _TABLE_DRAFTS]))
        return out

    def _table_one(self, key: str) -> list[float]:
        """Return one draft's margins: a sorted search costs fewer numpy calls than the table."""
        np = self._np
        out = [0.0] * len(self.models)
        for group in self._groups:
            n_min, n_max, words, word_pairs, binary = group.setting
            codes, gram_weights, word_rows, matrix = (
                group.codes,
                group.by_code,
                group.word_rows,
                group.word_matrix,
            )
            t = _fold(key)
            padded = _BOS + t + _EOS
            chars = np.frombuffer(padded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
            gram = chars.astype(np.int64)
            parts = []
            for n in range(1, n_max + 1):
                if n > 1:
                    gram = gram[:-1] * _BASE + chars[n - 1 :]
                if n >= n_min:
                    parts.append(gram)
            # Sorted needles search a sorted array far faster (the order of a sum is free).
            found = np.concatenate(parts)
            count = len(found)  # with repeats, even when `binary` adds each weight once
            found = _sorted_unique(np, found) if binary else np.sort(found)
            unknown = len(matrix) - 1
            total = matrix[unknown]
            if len(codes):
                at = np.searchsorted(codes, found).clip(max=len(codes) - 1)
                total = _in_order(np, gram_weights[at[codes[at] == found]])
            if words or word_pairs:
                word_ids = [word_rows.get(w, unknown) for w in _word_features(t, words, word_pairs)]
                count += len(word_ids)
                if binary:
                    word_ids = sorted(set(word_ids))
                if word_ids:
                    total = total + _in_order(np, matrix[word_ids])
            scale = 1.0 / math.sqrt(count) if count else 0.0
            for col, i in enumerate(group.members):
                out[i] = self.models[i].bias + float(total[col]) * scale
        return out

    def _table_batch(self, keys: Sequence[str]) -> list[list[float]]:
        """Return drafts' margins together: n-grams found in a hash table, summed per draft."""
        np = self._np
        out = [[0.0] * len(self.models) for _ in keys]
        n_drafts = len(keys)
        folded = _fold_many(keys)
        padded = "".join([_BOS + t + _EOS for t in folded])
        chars = np.frombuffer(padded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        sizes = np.array([len(t) + 2 for t in folded], dtype=np.int64)
        ends = np.cumsum(sizes)
        for group in self._groups:
            n_min, n_max, words, word_pairs, binary = group.setting
            n_rows = max(group.gram_weights.shape[1], 1)
            # Each character's draft, as the high part of a sort key: draft, then feature row.
            base = np.repeat(np.arange(0, n_drafts * n_rows, n_rows, dtype=np.int64), sizes)
            gram = chars.astype(np.int64)
            levels = []
            counts = np.zeros(n_drafts, dtype=np.int64)
            for n in range(1, n_max + 1):
                if n > 1:
                    gram = gram[:-1] * _BASE + chars[n - 1 :]
                if n >= n_min:
                    levels.append((n, gram))
                    counts += np.maximum(sizes - n + 1, 0)
            rows = _lookup(np, group.table, np.concatenate([g for _, g in levels]))
            offset = 0
            for n, g in levels:
                # The last n - 1 starts of each draft run into the next draft: not its n-grams.
                for back in range(1, n):
                    crossing = ends - back
                    rows[offset + crossing[crossing < len(g)]] = -1
                offset += len(g)
            known = rows >= 0
            starts = np.concatenate([base[: len(g)] for _, g in levels])
            # Each draft's known n-grams in code order: the order Model.margin's table sum
            # has always added them in, so a score never depends on its batch.
            order = starts[known] + rows[known]
            order = _sorted_unique(np, order) if binary else np.sort(order)  # once if binary
            owner = order // n_rows
            row = order - owner * n_rows
            totals = [
                np.bincount(owner, weights=column.take(row), minlength=n_drafts)
                for column in group.gram_weights
            ]
            if words or word_pairs:
                unknown = len(group.word_matrix) - 1
                word_ids: list[int] = []
                word_owner: list[int] = []
                for d, t in enumerate(folded):
                    ids = [
                        group.word_rows.get(w, unknown)
                        for w in _word_features(t, words, word_pairs)
                    ]
                    if ids:
                        counts[d] += len(ids)
                        if binary:
                            ids = sorted(set(ids))
                        word_ids += ids
                        word_owner += [d] * len(ids)
                if word_ids:
                    picked = group.word_matrix[word_ids].T
                    totals = [
                        total + np.bincount(word_owner, weights=column, minlength=n_drafts)
                        for total, column in zip(totals, picked, strict=True)
                    ]
            scales = [1.0 / math.sqrt(c) if c else 0.0 for c in counts.tolist()]
            for i, total in zip(group.members, totals, strict=True):
                bias = self.models[i].bias
                for d, (value, scale) in enumerate(zip(total.tolist(), scales, strict=True)):
                    out[d][i] = bias + value * scale
        return out


@dataclass(slots=True)
class _Group:
    """The tables of the models that read the same features (n-gram sizes, words)."""

    setting: tuple[int, int, bool, bool, bool]  # n_min, n_max, words, word_pairs, binary
    members: list[int]  # model indices, one column each
    codes: Any  # the n-grams' integer codes, sorted
    by_code: Any  # (n-grams, models): the n-grams' weights in the order of their codes
    table: tuple[Any, Any, int, int]  # hash table of codes: see _hash_table
    word_rows: dict[str, int]  # word feature -> its row in word_matrix
    word_matrix: Any  # (words + 1, models): the words' weights; the last row is all zeros
    # by_code transposed, one contiguous row per model (the batches' bincount): derived from
    # by_code, so it is rebuilt when tables are read back rather than kept in the file
    gram_weights: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.gram_weights = self.by_code.T.copy()

    def __getstate__(self) -> list[Any]:
        return [getattr(self, f.name) for f in fields(self) if f.init]

    def __setstate__(self, state: list[Any]) -> None:
        kept = [f.name for f in fields(self) if f.init]
        if not isinstance(state, list) or len(state) != len(kept):
            raise ValueError("tables of another layout")  # the loader then builds them anew
        for name, value in zip(kept, state, strict=True):
            setattr(self, name, value)
        self.__post_init__()


def _in_order(np: Any, rows: Any) -> Any:
    """Return the column sums of rows, each added first to last as the batches' bincount does.

    (`sum(axis=0)` adds a single column pairwise: its last bit could then differ. A running
    sum adds in order, in one call.)
    """
    if not len(rows):
        return np.zeros(rows.shape[1])
    return rows.cumsum(axis=0)[-1]


def _sorted_unique(np: Any, values: Any) -> Any:
    """Return the distinct values, sorted (np.unique, at a fifth of its cost on small arrays)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _hash_table(np: Any, codes: Any) -> tuple[Any, Any, int, int]:
    """Return (keys, rows, shift, mask): an open-addressing table of sorted codes to positions.

    A code present twice keeps its first position, as a sorted search would find.
    """
    bits = max(4, (4 * max(len(codes), 1) - 1).bit_length())  # at most a quarter full
    size = 1 << bits
    keys = np.full(size, _EMPTY, dtype=np.int64)
    rows = np.full(size, -1, dtype=np.int64)
    mask = size - 1
    unique, first = np.unique(codes, return_index=True)
    slot = _home(np, unique, 64 - bits)
    pending = np.arange(len(unique))
    while len(pending):  # linear probing, settled round by round
        free = keys[slot[pending]] == _EMPTY
        taking = pending[free]
        slots, winner = np.unique(slot[taking], return_index=True)
        keys[slots] = unique[taking[winner]]
        rows[slots] = first[taking[winner]]
        placed = np.zeros(len(unique), dtype=bool)
        placed[taking[winner]] = True
        pending = pending[~placed[pending]]
        slot[pending] = (slot[pending] + 1) & mask
    return keys, rows, 64 - bits, mask


def _home(np: Any, codes: Any, shift: int) -> Any:
    """Return the first slot of each code in a table of 2**(64 - shift) slots."""
    hashed = np.ascontiguousarray(codes).view(np.uint64) * np.uint64(_HASH_MULT)
    return (hashed >> np.uint64(shift)).view(np.int64)


def _lookup(np: Any, table: tuple[Any, Any, int, int], codes: Any) -> Any:
    """Return the position of each code in the table's sorted codes, or -1 if absent."""
    keys, rows, shift, mask = table
    slot = _home(np, codes, shift)
    seen = keys[slot]
    found = rows[slot]  # -1 in empty slots
    # A slot held by another code: probe on (rare at a quarter full).
    todo = np.flatnonzero((seen != codes) & (seen != _EMPTY))
    while len(todo):
        found[todo] = -1
        at = (slot[todo] + 1) & mask
        slot[todo] = at
        seen = keys[at]
        hit = seen == codes[todo]
        found[todo[hit]] = rows[at[hit]]
        todo = todo[~hit & (seen != _EMPTY)]
    return found


def _vectorize(
    grams: list[str], index: dict[str, int], scale: float, binary: bool = False
) -> tuple[list[int], list[float]]:
    """Return the sparse (indices, values) of one draft's features, counts scaled by `scale`.

    With `binary` every present feature has the value `scale`, however often it occurs.
    """
    counts: dict[int, int] = {}
    for g in grams:
        j = index.get(g)
        if j is not None:
            counts[j] = counts.get(j, 0) + 1
    if binary:
        return list(counts), [scale] * len(counts)
    return list(counts), [c * scale for c in counts.values()]


def train(
    texts: Sequence[str],
    labels: Sequence[bool],
    *,
    n_min: int = 1,
    n_max: int = 3,
    words: bool = True,
    word_pairs: bool = True,
    binary: bool = True,
    epochs: int = 10,
    l2: float = 3e-3,
    learning_rate: float = 0.5,
    min_count: int = 2,
    max_features: int | None = 40_000,
    seed: int = 0,
) -> Model:
    """Fit a binary logistic regression with L2 by AdaGrad SGD on n-grams seen in `min_count` drafts.

    The defaults (word pairs, binary features, n-grams seen in 2 drafts, then the
    `max_features` largest weights kept) won leave-one-corpus-out cross-validation, each
    corpus file scored by a model trained on the others: recall at 1% of clean drafts
    flagged rose most for overboard and competitor, at about the old model's size.
    """
    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    docs = [features(t, n_min, n_max, words, word_pairs) for t in texts]
    doc_freq: dict[str, int] = {}
    for grams in docs:
        for g in set(grams):
            doc_freq[g] = doc_freq.get(g, 0) + 1
    vocab = sorted(g for g, c in doc_freq.items() if c >= min_count)
    index = {g: j for j, g in enumerate(vocab)}
    # Every feature, known or not, counts toward the length normalization, as in Model.margin.
    rows = [_vectorize(grams, index, 1.0 / math.sqrt(len(grams) or 1), binary) for grams in docs]
    ys = [1.0 if y else 0.0 for y in labels]

    size = len(vocab)
    w = [0.0] * size
    g2 = [1e-8] * size
    bias, bias_g2 = 0.0, 1e-8
    rng = random.Random(seed)
    order = list(range(len(rows)))
    sqrt = math.sqrt
    for _ in range(epochs):
        rng.shuffle(order)
        for k in order:
            idx, vals = rows[k]
            z = bias + sum(w[j] * v for j, v in zip(idx, vals, strict=True))
            err = _sigmoid(z) - ys[k]
            # L2 is applied lazily: only to the weights of features present in this draft.
            for j, v in zip(idx, vals, strict=True):
                grad = err * v + l2 * w[j]
                g2[j] += grad * grad
                w[j] -= learning_rate * grad / sqrt(g2[j])
            bias_g2 += err * err
            bias -= learning_rate * err / sqrt(bias_g2)

    weights = {vocab[j]: wj for j, wj in enumerate(w) if wj != 0.0}
    if max_features is not None and len(weights) > max_features:
        # Keep the largest weights (ties by feature): a small file that loads fast at start-up.
        ranked = sorted(weights.items(), key=lambda item: (-abs(item[1]), item[0]))
        weights = dict(ranked[:max_features])
    model = Model(weights, bias, n_min, n_max, words, word_pairs, binary)
    model.meta = {"vocab": size, "docs": len(rows), "positives": int(sum(ys))}
    return model


def fold_of(n: int, folds: int, groups: Sequence[int] | None = None) -> list[int]:
    """Return each item's cross-validation fold; items of one group always share a fold."""
    if groups is None:
        return [i % folds for i in range(n)]
    if len(groups) != n:
        raise ValueError("groups and items differ in length")
    order = {g: k for k, g in enumerate(dict.fromkeys(groups))}
    return [order[g] % folds for g in groups]


def suggest_threshold(
    texts: Sequence[str],
    labels: Sequence[bool],
    clean: Sequence[bool],
    *,
    max_clean_flagged: float = 0.01,
    folds: int = 5,
    seed: int = 0,
    groups: Sequence[int] | None = None,
    already_flagged: Sequence[bool] | None = None,
) -> tuple[float, float]:
    """Return a threshold and the recall it gives, judged by k-fold cross-validation.

    Each draft is scored by a model trained without it; the threshold is the lowest score
    at which at most max_clean_flagged of the clean drafts (no category at all) would be
    flagged. Recall is the share of labeled drafts at or above it. With `groups` (say, which
    corpus file each draft came from) a group is never split across folds, so each draft is
    scored by a model that saw none of its writer's drafts: thresholds that hold for new writers.
    With `already_flagged` (drafts other rules flag anyway) the share counts only the clean
    drafts this model would add to those: the false alarms it costs beside the other rules.
    """
    fold = fold_of(len(texts), folds, groups)
    scores = [0.0] * len(texts)
    for k in sorted(set(fold)):
        train_idx = [i for i in range(len(texts)) if fold[i] != k]
        model = train([texts[i] for i in train_idx], [labels[i] for i in train_idx], seed=seed)
        for i in range(len(texts)):
            if fold[i] == k:
                scores[i] = model.score(texts[i])
    flagged = already_flagged or [False] * len(texts)
    clean_scores = sorted(
        (s for s, c, f in zip(scores, clean, flagged, strict=True) if c and not f), reverse=True
    )
    allowed = int(max_clean_flagged * sum(clean))
    threshold = clean_scores[allowed] + 1e-6 if allowed < len(clean_scores) else 1e-6
    positives = [s for s, y in zip(scores, labels, strict=True) if y]
    recall = sum(s >= threshold for s in positives) / len(positives) if positives else 0.0
    return threshold, recall
