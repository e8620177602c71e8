"""Whole-draft measurements (X weighted length, hashtags, mentions, URLs, lines) against a limit."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# X counts most Latin text as 1 and CJK and emoji as 2 (twitter-text config v3). twitter-text
# itself takes ~2 ms a draft, mostly in its emoji regex; for the common case (NFC text whose
# emoji are single code points) the count reduces to these per-character weights plus 23 per
# URL found by twitter-text's own URL extractor. A property test pins the two paths together.
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
X_URL_WEIGHT = 23

_HASHTAG = re.compile(r"(?<![\w&#＃])[#＃](?=[^\W\d_])[\wー・]+")
_MENTION = re.compile(r"(?<![\w@＠])[@＠][A-Za-z0-9_]{1,15}")
_URL = re.compile(r"https?://[^\s<>\"「」『』（）]+", re.IGNORECASE)


def _weight(cp: int) -> int:
    for lo, hi in _LIGHT_RANGES:
        if lo <= cp <= hi:
            return 1
    return 2


# Code points that make twitter-text count an emoji sequence as one unit (joiners, variation
# selectors, keycaps, skin tones, flags, tags) or count a Latin-1 symbol as an emoji (© ®).
# Without them, every emoji is one code point and weighs 2 either way.
def _complex_emoji(cp: int) -> bool:
    return (
        cp in (0xA9, 0xAE, 0x200D, 0x20E3, 0xFE0E, 0xFE0F)
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0x1F1E6 <= cp <= 0x1F1FF
        or 0xE0020 <= cp <= 0xE007F
    )


# A URL needs a scheme or a dot followed by letters (a TLD); text without either has none.
_URL_HINT = re.compile(r"://|[.．｡][^\W\d_]{2}")


def x_weighted_length(text: str, limit: int = 280) -> tuple[int, int]:
    """Return X's weighted length of text and the offset of the first character over limit.

    The offset is len(text) when the text fits.
    """
    if "\r" in text or not unicodedata.is_normalized("NFC", text):
        return _x_length_library(text, limit)
    if any(_complex_emoji(ord(c)) for c in text):
        return _x_length_library(text, limit)
    urls: dict[int, int] = {}
    if _URL_HINT.search(text):
        _, extract_urls = _twitter_text()
        urls = {u["indices"][0]: u["indices"][1] for u in extract_urls(text)}
    total = 0
    over_at = len(text)
    i = 0
    n = len(text)
    while i < n:
        end = urls.get(i)
        if end is not None:
            total += X_URL_WEIGHT
            next_i = end
        else:
            total += _weight(ord(text[i]))
            next_i = i + 1
        if total > limit and over_at == n:
            over_at = i
        i = next_i
    return total, over_at


@cache
def _twitter_text():  # type: ignore[no-untyped-def]
    # twitter-text compiles large regexes at import (~0.4 s): import it only when needed.
    from twitter_text import extract_urls_with_indices, parse_tweet

    return parse_tweet, extract_urls_with_indices


def _x_length_library(text: str, limit: int) -> tuple[int, int]:
    parse_tweet, _ = _twitter_text()
    from twitter_text.config import config

    options = dict(config["defaults"])
    options["max_weighted_tweet_length"] = limit
    result = parse_tweet(text, options)
    if result.weightedLength <= limit:
        return result.weightedLength, len(text)
    # validRangeEnd is the UTF-16 index of the last character that still fits.
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > result.validRangeEnd + 1:
            return result.weightedLength, i
    return result.weightedLength, len(text)


def measure(kind: str, text: str, limit: int) -> tuple[int, int, int] | None:
    """Return (start, end, value) of the part of text over the limit, or None if within it."""
    if kind == "x_weighted_length":
        # Every character weighs at most 2 and every URL 23: a short draft cannot be over.
        if 2 * len(text) + X_URL_WEIGHT * text.count(".") <= limit:
            return None
        value, over_at = x_weighted_length(text, limit)
        if value <= limit:
            return None
        return over_at, len(text), value
    if kind == "length":
        if len(text) <= limit:
            return None
        return limit, len(text), len(text)
    if kind == "lines":
        lines = text.splitlines()
        if len(lines) <= limit:
            return None
        start = sum(len(line) + 1 for line in lines[:limit])
        return min(start, len(text)), len(text), len(lines)
    regex = {"hashtags": _HASHTAG, "mentions": _MENTION, "urls": _URL}[kind]
    spans = [m.span() for m in regex.finditer(text)]
    if len(spans) <= limit:
        return None
    return spans[limit][0], spans[-1][1], len(spans)
