"""Whole-draft measurements (X weighted length, hashtags, mentions, URLs, lines) against a limit."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# X counts most Latin text as 1 and CJK and emoji as 2 (twitter-text config v3). The weight table
# below is only used on the fast path, for text that provably holds no URL and no emoji, where
# the count reduces to per-character weights; anything else goes to twitter-text itself.
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


def _maybe_emoji(cp: int) -> bool:
    """Return True if a code point may start or join an emoji sequence."""
    if cp < 0x2000:
        return cp in (0xA9, 0xAE)
    if cp <= 0x206F:
        return cp in (0x200D, 0x203C, 0x2049)
    if 0x3000 <= cp <= 0x303F:
        return cp in (0x3030, 0x303D)
    return not (0x3040 <= cp <= 0x9FFF or 0xAC00 <= cp <= 0xD7AF or 0xFF00 <= cp <= 0xFFEF)


def x_weighted_length(text: str) -> tuple[int, int]:
    """Return X's weighted length of text and the offset of the first character over 280.

    The offset is len(text) when the text fits.
    """
    return _x_length(text, 280)


def _x_length(text: str, limit: int) -> tuple[int, int]:
    fast = (
        "." not in text
        and "．" not in text
        and "｡" not in text
        and unicodedata.is_normalized("NFC", text)
        and not any(_maybe_emoji(ord(c)) for c in text)
    )
    if fast:
        total = 0
        over_at = len(text)
        prev_cr = False
        for i, ch in enumerate(text):
            if ch == "\n" and prev_cr:
                prev_cr = False
                continue  # \r\n counts once
            prev_cr = ch == "\r"
            total += _weight(ord(ch))
            if total > limit and over_at == len(text):
                over_at = i
        return total, over_at
    return _x_length_exact(text, limit)


@cache
def _parse_tweet():  # type: ignore[no-untyped-def]
    # twitter-text compiles large regexes at import (~0.4 s): import it only when needed.
    from twitter_text import parse_tweet
    from twitter_text.config import config

    return parse_tweet, config


def _x_length_exact(text: str, limit: int) -> tuple[int, int]:
    parse_tweet, config = _parse_tweet()
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
        value, over_at = _x_length(text, limit)
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
