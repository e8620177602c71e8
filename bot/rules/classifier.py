"""A small character n-gram logistic regression that scores a draft for one category."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import add
from typing import Any

from .normalize import base_key

FORMAT_VERSION = 1

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


def _grams(text: str, n_min: int, n_max: int, words: bool) -> list[list[str]]:
    """Return the draft's features as one list per n-gram length, then English words."""
    return _grams_of_key(base_key(text).text, n_min, n_max, words)


def _grams_of_key(key: str, n_min: int, n_max: int, words: bool) -> list[list[str]]:
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
    if words:
        out.append([_WORD_MARK + w for w in _WORD.findall(t) if len(w) > 1])
    return out


def features(text: str, n_min: int = 1, n_max: int = 3, words: bool = True) -> list[str]:
    """Return the features of a draft, with repeats: character n-grams and English words."""
    return [g for part in _grams(text, n_min, n_max, words) for g in part]


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
    meta: dict[str, Any] = field(default_factory=dict)

    def margin(self, text: str) -> float:
        """Return the raw score (log-odds) of a draft."""
        return self._margin(_grams(text, self.n_min, self.n_max, self.words))

    def _margin(self, parts: list[list[str]]) -> float:
        """Return the log-odds of a draft given its features."""
        get, zero = self.weights.get, repeat(0.0)
        count = sum(map(len, parts))
        if not count:
            return self.bias
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
            "bias": round(self.bias, 6),
            "weights": {g: round(w, 5) for g, w in sorted(self.weights.items())},
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        """Build a model from data written by to_dict."""
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported classifier model version: {data.get('version')!r}")
        return cls(
            weights={str(g): float(w) for g, w in data["weights"].items()},
            bias=float(data["bias"]),
            n_min=int(data["n_min"]),
            n_max=int(data["n_max"]),
            words=bool(data["words"]),
            meta=dict(data.get("meta", {})),
        )


# Every n-gram becomes one integer: its code points in base 0x110000 (three fit in 63 bits),
# so a draft's features are looked up all at once in a sorted array (numpy), not one by one.
_BASE = 0x110000


def _gram_code(gram: str) -> int:
    """Return the integer code of a character n-gram (n <= 3)."""
    code = 0
    for ch in gram:
        code = code * _BASE + ord(ch)
    return code


class Scorer:
    """Scores a draft with several models at once: the hot path of every review.

    The first few drafts are scored in plain Python (a one-draft `check` should not pay for
    importing numpy and building tables: ~60 ms). From then on the models' n-gram weights
    sit in one matrix (a row per feature, a column per model); a draft's n-grams become
    integer codes with numpy, are found with one sorted search, and every model's sum is one
    matrix row-sum. Both ways give Model.score's result.
    """

    # Drafts scored in plain Python before the tables are built.
    WARM_UP = 8

    def __init__(self, models: Sequence[Model], warm_up: int | None = None) -> None:
        self.models = list(models)
        self._left = self.WARM_UP if warm_up is None else warm_up
        self._groups: list[
            tuple[tuple[int, int, bool], list[int], Any, Any, dict[str, int], Any]
        ] = []
        self._np: Any = None

    def scores(self, key: str) -> list[float]:
        """Return each model's probability for a draft, given its base key."""
        if self._np is None:
            if self._left > 0:
                self._left -= 1
                return self._plain_scores(key)
            self._build()
        return self._table_scores(key)

    def _plain_scores(self, key: str) -> list[float]:
        cache: dict[tuple[int, int, bool], list[list[str]]] = {}
        out = []
        for m in self.models:
            setting = (m.n_min, m.n_max, m.words)
            parts = cache.get(setting)
            if parts is None:
                parts = cache[setting] = _grams_of_key(key, *setting)
            out.append(_sigmoid(m._margin(parts)))
        return out

    def _build(self) -> None:
        import numpy as np  # only rules files with a classifier, scoring many drafts, pay for it

        groups: list[tuple[tuple[int, int, bool], list[int], Any, Any, dict[str, int], Any]] = []
        settings: dict[tuple[int, int, bool], list[int]] = {}
        for i, m in enumerate(self.models):
            if m.n_max > 3:
                raise ValueError("the scorer reads n-grams up to 3 characters")
            settings.setdefault((m.n_min, m.n_max, m.words), []).append(i)
        for setting, members in settings.items():
            features = sorted({g for i in members for g in self.models[i].weights})
            grams = [g for g in features if not g.startswith(_WORD_MARK)]
            words = [g for g in features if g.startswith(_WORD_MARK)]
            rows = {g: r for r, g in enumerate(grams + words)}
            matrix = np.zeros((len(rows) + 1, len(members)))  # the last row: unknown feature
            for col, i in enumerate(members):
                for g, w in self.models[i].weights.items():
                    matrix[rows[g], col] = w
            codes = np.array([_gram_code(g) for g in grams], dtype=np.int64)
            order = np.argsort(codes)
            word_rows = {g: rows[g] for g in words}
            # n-gram weights in the order of their sorted codes, for the sorted search
            gram_weights = matrix[order] if len(grams) else matrix[:0]
            groups.append((setting, members, codes[order], gram_weights, word_rows, matrix))
        self._groups = groups
        self._np = np  # last: another thread sees either no tables or complete ones

    def _table_scores(self, key: str) -> list[float]:
        np = self._np
        out = [0.0] * len(self.models)
        for (n_min, n_max, words), members, codes, gram_weights, word_rows, matrix in self._groups:
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
            found = np.sort(np.concatenate(parts))
            unknown = len(matrix) - 1
            count = len(found)
            total = matrix[unknown]
            if len(codes):
                at = np.searchsorted(codes, found).clip(max=len(codes) - 1)
                total = gram_weights[at[codes[at] == found]].sum(axis=0)
            if words:
                word_ids = [
                    word_rows.get(_WORD_MARK + w, unknown) for w in _WORD.findall(t) if len(w) > 1
                ]
                count += len(word_ids)
                if word_ids:
                    total = total + matrix[word_ids].sum(axis=0)
            scale = 1.0 / math.sqrt(count) if count else 0.0
            for col, i in enumerate(members):
                out[i] = _sigmoid(self.models[i].bias + float(total[col]) * scale)
        return out


def _vectorize(
    grams: list[str], index: dict[str, int], scale: float
) -> tuple[list[int], list[float]]:
    """Return the sparse (indices, values) of one draft's features, counts scaled by `scale`."""
    counts: dict[int, int] = {}
    for g in grams:
        j = index.get(g)
        if j is not None:
            counts[j] = counts.get(j, 0) + 1
    return list(counts), [c * scale for c in counts.values()]


def train(
    texts: Sequence[str],
    labels: Sequence[bool],
    *,
    n_min: int = 1,
    n_max: int = 3,
    words: bool = True,
    epochs: int = 10,
    l2: float = 3e-3,
    learning_rate: float = 0.5,
    min_count: int = 3,
    seed: int = 0,
) -> Model:
    """Fit a binary logistic regression with L2 by AdaGrad SGD on n-grams seen in `min_count` drafts."""
    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    docs = [features(t, n_min, n_max, words) for t in texts]
    doc_freq: dict[str, int] = {}
    for grams in docs:
        for g in set(grams):
            doc_freq[g] = doc_freq.get(g, 0) + 1
    vocab = sorted(g for g, c in doc_freq.items() if c >= min_count)
    index = {g: j for j, g in enumerate(vocab)}
    # Every feature, known or not, counts toward the length normalization, as in Model.margin.
    rows = [_vectorize(grams, index, 1.0 / math.sqrt(len(grams) or 1)) for grams in docs]
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
    model = Model(weights, bias, n_min, n_max, words)
    model.meta = {"vocab": size, "docs": len(rows), "positives": int(sum(ys))}
    return model


def suggest_threshold(
    texts: Sequence[str],
    labels: Sequence[bool],
    clean: Sequence[bool],
    *,
    max_clean_flagged: float = 0.01,
    folds: int = 5,
    seed: int = 0,
) -> tuple[float, float]:
    """Return a threshold and the recall it gives, judged by k-fold cross-validation.

    Each draft is scored by a model trained without it; the threshold is the lowest score
    at which at most max_clean_flagged of the clean drafts (no category at all) would be
    flagged. Recall is the share of labeled drafts at or above it.
    """
    scores = [0.0] * len(texts)
    for k in range(folds):
        train_idx = [i for i in range(len(texts)) if i % folds != k]
        model = train([texts[i] for i in train_idx], [labels[i] for i in train_idx], seed=seed)
        for i in range(k, len(texts), folds):
            scores[i] = model.score(texts[i])
    clean_scores = sorted((s for s, c in zip(scores, clean, strict=True) if c), reverse=True)
    allowed = int(max_clean_flagged * len(clean_scores))
    threshold = clean_scores[allowed] + 1e-6 if allowed < len(clean_scores) else 1e-6
    positives = [s for s, y in zip(scores, labels, strict=True) if y]
    recall = sum(s >= threshold for s in positives) / len(positives) if positives else 0.0
    return threshold, recall
