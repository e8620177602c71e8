"""A small character n-gram logistic regression that scores a draft for one category."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
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


def normalize(text: str) -> str:
    """Return the text the features are read from: base key, URLs, mentions and digits folded."""
    return _fold(base_key(text).text)


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

    def pruned(self, keep: int) -> Model:
        """Return a copy keeping only the `keep` weights of largest magnitude."""
        top = sorted(self.weights.items(), key=lambda kv: -abs(kv[1]))[:keep]
        return Model(dict(top), self.bias, self.n_min, self.n_max, self.words, dict(self.meta))

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


class Scorer:
    """Scores a draft with several models at once, reading its features once.

    Every feature any model knows gets one index: a draft's features are looked up in one
    dict (the costly part: each feature string is hashed once), then each model sums a plain
    list by those indices. This is on the hot path of every review.
    """

    def __init__(self, models: Sequence[Model]) -> None:
        self.models = list(models)
        # (feature setting, its models, feature -> index, one weight list per model)
        self._groups: list[
            tuple[tuple[int, int, bool], list[int], dict[str, int], list[list[float]]]
        ] = []
        settings: dict[tuple[int, int, bool], list[int]] = {}
        for i, m in enumerate(self.models):
            settings.setdefault((m.n_min, m.n_max, m.words), []).append(i)
        for setting, members in settings.items():
            index: dict[str, int] = {}
            for i in members:
                for g in self.models[i].weights:
                    index.setdefault(g, len(index))
            weights = []
            for i in members:
                row = [0.0] * (len(index) + 1)  # the last slot, -1, is "unknown feature"
                for g, w in self.models[i].weights.items():
                    row[index[g]] = w
                weights.append(row)
            self._groups.append((setting, members, index, weights))

    def scores(self, key: str) -> list[float]:
        """Return each model's probability for a draft, given its base key."""
        out = [0.0] * len(self.models)
        unknown = repeat(-1)
        for setting, members, index, weights in self._groups:
            parts = _grams_of_key(key, *setting)
            ids = list(chain.from_iterable(map(index.get, part, unknown) for part in parts))
            scale = 1.0 / math.sqrt(len(ids)) if ids else 0.0
            for i, row in zip(members, weights, strict=True):
                total = sum(map(row.__getitem__, ids))
                out[i] = _sigmoid(self.models[i].bias + total * scale)
        return out


def score_many(models: Sequence[Model], text: str, key: str | None = None) -> list[float]:
    """Return each model's probability for a draft (see Scorer to score many drafts)."""
    return Scorer(models).scores(base_key(text).text if key is None else key)


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
    positive_weight: float = 1.0,
    min_count: int = 3,
    keep: int | None = None,
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
            if ys[k]:
                err *= positive_weight
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
    return model if keep is None else model.pruned(keep)


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
