"""Whole-draft measurements (X weighted length, hashtags, mentions, URLs, lines) against a limit."""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

import ahocorasick

# X counts most Latin text as 1 and CJK and emoji as 2, every URL as 23 (twitter-text config v3).
# twitter-text (the maintained reference) is too slow to run on every draft: parse_tweet takes
# ~2 ms for 280 characters and its URL regex backtracks for milliseconds on long runs of
# Japanese. So the count here is computed from the same data — the weight ranges, the emoji
# list shipped inside twitter-text, and twitter-text's own URL extractor run on small windows
# around each possible URL — and property tests pin it to parse_tweet.
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
X_URL_WEIGHT = 23
_HEAVY = re.compile("[^" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in _LIGHT_RANGES) + "]")
# Code points that only occur inside multi-code-point emoji sequences (joiners, variation
# selectors, keycaps, skin tones, flags, tags): without one, every emoji is one code point.
_SEQUENCE_PART = re.compile(
    "[\u200d\u20e3\ufe0e\ufe0f\U0001f3fb-\U0001f3ff\U0001f1e6-\U0001f1ff\U000e0020-\U000e007f]"
)
# A URL needs a scheme or a dot followed by letters (a TLD).
_URL_HINT = re.compile(r"://|[.][a-zA-Z]{2}")
# Matched on the reversed text, leftwards from a hint: the characters of an ASCII domain (with
# twitter-text's Latin accents), and the run of characters twitter-text accepts in a domain
# (anything but ASCII punctuation, spaces, BOM/invalid and bidi marks).
_URL_LEFT_REV = re.compile("[A-Za-z0-9._\\-\u00c0-\u02ff\u1e00-\u1eff]*")
_DOMAIN_RUN_REV = re.compile(
    "[^!-/:-@\\[-`{-~\\s\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    "\ufeff\ufffe\uffff\u202a-\u202e\u200e\u200f\u061c\u2066-\u2069]*"
)
_URL_RIGHT = re.compile(r"[^\s「」『』【】〈〉《》（）<>\"]*")
_WINDOW_MAX = 500

_HASHTAG = re.compile(r"(?<![\w&#＃])[#＃](?=[^\W\d_])[\wー・]+")
_MENTION = re.compile(r"(?<![\w@＠])[@＠][A-Za-z0-9_]{1,15}")
_URL = re.compile(r"https?://[^\s<>\"「」『』（）]+", re.IGNORECASE)


def _weight(cp: int) -> int:
    for lo, hi in _LIGHT_RANGES:
        if lo <= cp <= hi:
            return 1
    return 2


# Non-ASCII characters that still weigh 1 (Latin accents, Greek, Cyrillic, some punctuation).
_LIGHT_NON_ASCII = re.compile("[\u0080-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")


def _plain_weight(text: str) -> int:
    """Weigh text character by character (1 or 2), in C."""
    # Drafts are ASCII and CJK: then every non-ASCII character is heavy, and counting them is
    # one encode. Anything else takes the regex.
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    if non_ascii and _LIGHT_NON_ASCII.search(text):
        return len(text) + _HEAVY.subn("", text)[1]
    return len(text) + non_ascii


@cache
def _emoji_data() -> tuple[ahocorasick.Automaton, frozenset[str], frozenset[str]]:
    """Return the multi-code-point emoji automaton and what _units needs beside it.

    That is: the light single emoji (© ®) and the characters multi-code-point emoji are
    made of (empty if one of them holds no _SEQUENCE_PART: then the whole text is searched).
    """
    spec = importlib.util.find_spec("twitter_text")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "regexp" / "emoji-test.txt"
    automaton = ahocorasick.Automaton()
    light_single: set[str] = set()
    alphabet: set[str] = set()
    every_has_part = True
    group = ""
    # Parsed the way twitter-text parses it: skip the "Component" group (lone skin tones).
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
            continue
        if not line or line.startswith("#") or group == "Component" or ";" not in line:
            continue
        emoji = "".join(chr(int(cp, 16)) for cp in line.split(";")[0].split())
        if len(emoji) > 1:
            automaton.add_word(emoji, len(emoji))
            alphabet.update(emoji)
            every_has_part = every_has_part and _SEQUENCE_PART.search(emoji) is not None
        elif _weight(ord(emoji)) == 1:
            light_single.add(emoji)
    automaton.make_automaton()
    return automaton, frozenset(light_single), frozenset(alphabet if every_has_part else ())


def _emoji_sequences(text: str) -> list[tuple[int, int]]:
    """Return the spans of multi-code-point emoji, leftmost longest, as iter_long finds them.

    Each holds a _SEQUENCE_PART, and a character outside every emoji resets the automaton:
    so only the run of emoji characters around each part is searched, with the character
    after it (the automaton ends a pending match differently at the end of its input).
    """
    automaton, _, alphabet = _emoji_data()
    if not alphabet:
        return [(end - length + 1, end + 1) for end, length in automaton.iter_long(text)]
    spans: list[tuple[int, int]] = []
    n = len(text)
    covered = 0
    for part in _SEQUENCE_PART.finditer(text):
        a = b = part.start()
        if a < covered or text[a] not in alphabet:
            continue
        while a > covered and text[a - 1] in alphabet:
            a -= 1
        while b < n and text[b] in alphabet:
            b += 1
        for end, length in automaton.iter_long(text[a : b + 1]):
            spans.append((a + end - length + 1, a + end + 1))
        covered = b
    return spans


@cache
def _twitter_text():  # type: ignore[no-untyped-def]
    # twitter-text's package __init__ imports everything, including an emoji regex that takes
    # ~0.25 s to compile through pkg_resources; we only need its URL extractor on most drafts.
    # So its submodules are imported under a bare package object, skipping that __init__.
    if "twitter_text" not in sys.modules:
        spec = importlib.util.find_spec("twitter_text")
        assert spec is not None and spec.submodule_search_locations is not None
        package = types.ModuleType("twitter_text")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        # Anyone else doing `from twitter_text import parse_tweet` still gets it, on demand.
        public = {
            "parse_tweet": "parse_tweet",
            "ParsedResult": "parse_tweet",
            "extract_urls": "extract_urls",
            "extract_urls_with_indices": "extract_urls",
            "extract_emojis_with_indices": "extract_emojis",
        }

        def __getattr__(name: str):  # type: ignore[no-untyped-def]
            if name in public:
                return getattr(importlib.import_module(f"twitter_text.{public[name]}"), name)
            raise AttributeError(name)

        package.__getattr__ = __getattr__  # type: ignore[method-assign]
        sys.modules["twitter_text"] = package
    urls_module = importlib.import_module("twitter_text.extract_urls")

    package = sys.modules["twitter_text"]
    # Importing a submodule binds its name on the package; rebind the function, as the real
    # __init__ would, so `from twitter_text import extract_urls` keeps meaning the function.
    if isinstance(getattr(package, "extract_urls", None), types.ModuleType):
        package.extract_urls = urls_module.extract_urls
        package.extract_urls_with_indices = urls_module.extract_urls_with_indices
    extract_urls_with_indices = urls_module.extract_urls_with_indices

    def parse_tweet(text: str, options: dict):  # type: ignore[no-untyped-def]
        parse_module = importlib.import_module("twitter_text.parse_tweet")
        if isinstance(getattr(package, "parse_tweet", None), types.ModuleType):
            package.parse_tweet = parse_module.parse_tweet
            package.ParsedResult = parse_module.ParsedResult
        return parse_module.parse_tweet(text, options)

    return parse_tweet, extract_urls_with_indices


def _urls(text: str) -> list[tuple[int, int]]:
    """Return the URL spans twitter-text finds, running it only on windows around candidates.

    twitter-text lets any run of non-ASCII-punctuation characters (all of 「詳しくは」) be part of
    a domain, and decides on the character before that run. A window keeps exactly that context
    without the run itself: the character before the run, one character of it, then the URL.
    """
    pieces: list[tuple[str, int, int]] = []  # (window text, where the URL part starts, its offset)
    reverse = text[::-1]
    n = len(text)
    covered = -1
    for hint in _URL_HINT.finditer(text):
        if hint.start() < covered:
            continue
        h = hint.start()
        left = _URL_LEFT_REV.match(reverse, n - h, min(n, n - h + _WINDOW_MAX))
        a = h - (left.end() - left.start())
        right = _URL_RIGHT.match(text, h, min(n, h + _WINDOW_MAX))
        end = min(n, right.end() + 1)
        run = _DOMAIN_RUN_REV.match(reverse, n - a)
        r = a - (run.end() - run.start())
        if r < a:
            prefix = (text[r - 1] if r > 0 else "") + text[a - 1]
        else:
            prefix = text[a - 1] if a > 0 else ""
        pieces.append((prefix + text[a:end], len(prefix), a))
        covered = end
    if not pieces:
        return []
    spans: list[tuple[int, int]] = []
    for window, skip, offset in pieces:
        for start, stop in _window_urls(window):
            if start >= skip:
                spans.append((offset + start - skip, offset + stop - skip))
    return sorted(set(spans))


@lru_cache(maxsize=4096)  # bounded: a batch of distinct links must not grow it forever
def _window_urls(window: str) -> tuple[tuple[int, int], ...]:
    """Return the URL spans twitter-text finds in a window of text.

    Cached: drafts of one account keep linking the same pages, and the extractor is slow
    pure Python (~20 us a window).
    """
    _, extract_urls = _twitter_text()
    return tuple((url["indices"][0], url["indices"][1]) for url in extract_urls(window))


def _units(text: str) -> list[tuple[int, int, int]]:
    """Return the spans that do not weigh per character: (start, end, weight)."""
    units = [(a, b, X_URL_WEIGHT) for a, b in _urls(text)]
    light_single = _emoji_data()[1]
    if _SEQUENCE_PART.search(text):
        units.extend((a, b, 2) for a, b in _emoji_sequences(text))
    for ch in light_single:  # ©, ®: one character, but an emoji to X
        start = text.find(ch)
        while start != -1:
            units.append((start, start + 1, 2))
            start = text.find(ch, start + 1)
    units.sort(key=lambda u: (u[0], -u[1]))
    # A URL wins over an emoji inside it; drop units that overlap an earlier one.
    kept: list[tuple[int, int, int]] = []
    for unit in units:
        if not kept or unit[0] >= kept[-1][1]:
            kept.append(unit)
    return kept


def x_weighted_length(text: str, limit: int = 280) -> tuple[int, int]:
    """Return X's weighted length of text and the offset of the first character over limit.

    The offset is len(text) when the text fits.
    """
    if "\r" in text or not unicodedata.is_normalized("NFC", text):
        return _x_length_library(text, limit)
    units = (
        _units(text)
        if ("." in text or "©" in text or "®" in text or _SEQUENCE_PART.search(text))
        else []
    )
    total = 0
    pos = 0
    for a, b, w in units:
        total += _plain_weight(text[pos:a]) + w
        pos = b
    total += _plain_weight(text[pos:])
    if total <= limit:
        return total, len(text)
    return total, _over_at(text, units, limit)


def _over_at(text: str, units: list[tuple[int, int, int]], limit: int) -> int:
    """Return the start of the first unit (character, URL or emoji) that takes the text over limit."""
    total = 0
    pos = 0
    for a, b, w in [*units, (len(text), len(text), 0)]:
        segment = _plain_weight(text[pos:a])
        if total + segment > limit:
            return _first_over(text, pos, a, limit - total)
        total += segment
        if total + w > limit:
            return a
        total += w
        pos = b
    return len(text)


def _first_over(text: str, pos: int, end: int, budget: int) -> int:
    """Return the first index in text[pos:end] where the running weight passes budget."""
    # Every character weighs 1 or 2, so the next budget // 2 characters always fit: jump
    # over them (one jump for all-Japanese text), then step through the last few.
    while budget >= 2 and pos < end:
        step = min(budget // 2, end - pos)
        budget -= _plain_weight(text[pos : pos + step])
        pos += step
    while pos < end:
        budget -= _plain_weight(text[pos])
        if budget < 0:
            return pos
        pos += 1
    return end


def _x_length_library(text: str, limit: int) -> tuple[int, int]:
    parse_tweet, _ = _twitter_text()
    from twitter_text.config import config  # a plain dict module: cheap

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


def prepare(kind: str) -> None:
    """Load now what measuring `kind` would load on first use (before forking batch workers)."""
    if kind == "x_weighted_length":
        _twitter_text()
        _emoji_data()


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
    # Each hashtag or mention needs its own # or @: too few of them and nothing is over.
    marks = {"hashtags": "#＃", "mentions": "@＠"}.get(kind)
    if marks is not None and sum(text.count(m) for m in marks) <= limit:
        return None
    regex = {"hashtags": _HASHTAG, "mentions": _MENTION, "urls": _URL}[kind]
    spans = [m.span() for m in regex.finditer(text)]
    if len(spans) <= limit:
        return None
    return spans[limit][0], spans[-1][1], len(spans)
