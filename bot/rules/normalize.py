"""Normalized matching keys for Japanese and English text, with offsets back to the original."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right

# Characters that only hide a word from a matcher: zero-width spaces and joiners, the BOM,
# soft hyphens, variation selectors and bidi controls. They are dropped from every key.
_INVISIBLE = frozenset(
    [
        "\u00ad",
        "\u034f",
        "\u061c",
        "\u180e",
        *map(chr, range(0x200B, 0x2010)),
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2060, 0x2070)),
        "\ufeff",
        *map(chr, range(0xFE00, 0xFE10)),
    ]
)

# Long-vowel marks, wave dashes and dash look-alikes people use interchangeably in Japanese
# (すご〜い, すごーい, すご～い). All fold to the katakana long-vowel mark. ASCII '-' is left
# alone so English words like "co-op" and regex syntax keep their meaning.
_LONG_VOWELS = frozenset("ー〜～〰~‐‑‒–—―−⁓﹣ｰ")
LONG_VOWEL = "ー"

# Separators people put between the letters of a word to slip past a filter (バ カ, コ・ラ・ボ).
_SEPARATORS = frozenset(" \t\n\r・.,*_/|+=:;!?、。･-")

_KATAKANA_START, _KATAKANA_END = 0x30A1, 0x30F6  # ァ..ヶ
_KANA_SHIFT = 0x60


def _fold_char(ch: str) -> str:
    """Fold one NFKC-normalized character into its base key form."""
    if ch in _INVISIBLE:
        return ""
    if ch in _LONG_VOWELS:
        return LONG_VOWEL
    if ch.isascii():
        return ch.lower()
    return ch.casefold()


def _cluster_end(text: str, i: int) -> int:
    """Return the end of the cluster starting at i: a base character and its combining marks."""
    n = len(text)
    j = i + 1
    while j < n:
        c = text[j]
        # ﾞ/ﾟ (half-width voiced marks) and combining marks attach to the previous character.
        if c in "\uff9e\uff9f" or (not c.isascii() and unicodedata.combining(c)):
            j += 1
        else:
            break
    return j


# One stretch of a key: key[k0:k1] came from original[o0:o1], either character by character
# (regular) or all of it from all of original[o0:o1] (ｶﾞ -> ガ, ㈱ -> (株)).
Segment = tuple[int, int, int, int, bool]


class Key:
    """A normalized string and, for each of its characters, the original span it came from."""

    __slots__ = ("_ends", "_segment_starts", "_segments", "_starts", "text")

    def __init__(
        self,
        text: str,
        starts: tuple[int, ...] | None = None,
        ends: tuple[int, ...] | None = None,
        segments: tuple[Segment, ...] | None = None,
    ) -> None:
        # starts/ends None: the key maps one to one onto the original (most drafts), or
        # segments say how it maps (drafts with a few irregular characters); the per-character
        # tuples are only built if someone asks for them.
        self.text = text
        self._starts = starts
        self._ends = ends
        self._segments = segments
        self._segment_starts: list[int] | None = None

    def _spell_out(self) -> None:
        assert self._segments is not None
        starts: list[int] = []
        ends: list[int] = []
        for k0, k1, o0, o1, regular in self._segments:
            if regular:
                starts.extend(range(o0, o1))
                ends.extend(range(o0 + 1, o1 + 1))
            else:
                starts.extend([o0] * (k1 - k0))
                ends.extend([o1] * (k1 - k0))
        self._starts, self._ends = tuple(starts), tuple(ends)

    @property
    def starts(self) -> tuple[int, ...]:
        """Return, for each key character, where its original span starts."""
        if self._starts is None:
            if self._segments is None:
                return tuple(range(len(self.text)))
            self._spell_out()
        assert self._starts is not None
        return self._starts

    @property
    def ends(self) -> tuple[int, ...]:
        """Return, for each key character, where its original span ends."""
        if self._ends is None:
            if self._segments is None:
                return tuple(range(1, len(self.text) + 1))
            self._spell_out()
        assert self._ends is not None
        return self._ends

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) range of the key back to the original text."""
        if self._starts is not None and self._ends is not None:
            return self._starts[start], self._ends[end - 1]
        if self._segments is None:
            return start, end
        return self._at(start)[0], self._at(end - 1)[1]

    def _at(self, k: int) -> tuple[int, int]:
        """Return the original span of key character k, from the segments."""
        assert self._segments is not None
        if self._segment_starts is None:
            self._segment_starts = [seg[0] for seg in self._segments]
        k0, _, o0, o1, regular = self._segments[bisect_right(self._segment_starts, k) - 1]
        if regular:
            return o0 + k - k0, o0 + k - k0 + 1
        return o0, o1


_ATTACH = "\x00attach"  # cache marker: a combining mark that belongs to the previous character
_FOLD_CACHE_LIMIT = 65_536
_KANA_TABLE = {cp: cp - _KANA_SHIFT for cp in range(_KATAKANA_START, _KATAKANA_END + 1)}
SEPARATORS = _SEPARATORS


def _fold_single(ch: str) -> str:
    if ch in "\uff9e\uff9f" or (not ch.isascii() and unicodedata.combining(ch)):
        return _ATTACH
    return "".join(_fold_char(c) for c in unicodedata.normalize("NFKC", ch))


class _FoldTable(dict):  # type: ignore[type-arg]
    """Code point -> folded text, for str.translate; fills itself on first sight of a character."""

    def __missing__(self, cp: int) -> str:
        if len(self) > _FOLD_CACHE_LIMIT:
            self.clear()  # bounded: 100k distinct code points must not grow it forever
        ch = chr(cp)
        folded = _fold_single(ch)
        if folded is _ATTACH or len(folded) != 1:
            _IRREGULAR.add(ch)  # dropped, expanded or attached: offsets need mapping
        self[cp] = folded
        return folded


_FOLD_TABLE = _FoldTable()
# Characters whose fold is not exactly one character (zero-width, ㈱, ﾞ). Text between them
# maps one to one onto its key, so the key is str.translate plus a little work at each.
_IRREGULAR: set[str] = set()
# (how many characters it covers, a regex finding any of them): replaced whole, so threads
# never see a regex that does not match its size.
_irregular_state: tuple[int, re.Pattern[str] | None] = (0, None)


def _irregular_search() -> re.Pattern[str] | None:
    global _irregular_state
    size, regex = _irregular_state
    if len(_IRREGULAR) != size:
        chars = "".join(sorted(_IRREGULAR.copy()))  # copy(): atomic even if a thread adds
        regex = re.compile("[" + re.escape(chars) + "]")
        _irregular_state = (len(chars), regex)
    return regex


def base_key(text: str) -> Key:
    """Return the base key: NFKC, case folded, long vowels unified, invisible characters dropped."""
    if text.isascii():
        # Fast path: ASCII is NFKC-stable and one character maps to one.
        return Key(text.lower().replace("~", LONG_VOWEL))
    table = _FOLD_TABLE
    joined = text.translate(table)  # also learns every new character's fold
    irregular = _irregular_search()
    if irregular is None or irregular.search(text) is None:
        return Key(joined)
    # Between irregular characters, joined holds the key one to one: the key is pieces of
    # it, and the map back to the text is a segment per piece and per irregular character.
    pieces: list[str] = []
    segments: list[Segment] = []
    k = 0  # key length so far
    pos = 0  # text consumed so far
    at = 0  # where text[pos] folded to in joined
    n = len(text)
    for m in irregular.finditer(text):
        i = m.start()
        if i < pos:
            continue  # a mark already attached
        if i > pos:
            pieces.append(joined[at : at + i - pos])
            segments.append((k, k + i - pos, pos, i, True))
            k += i - pos
            at += i - pos
        folded = table[ord(text[i])]
        if folded is not _ATTACH:
            if folded:  # '' for invisible characters, several for ㈱
                pieces.append(folded)
                segments.append((k, k + len(folded), i, i + 1, False))
                k += len(folded)
            at += len(folded)
            pos = i + 1
            continue
        j = i + 1
        while j < n and table[ord(text[j])] is _ATTACH:
            j += 1
        at += len(_ATTACH) * (j - i)
        if i == 0:  # marks with nothing before them stand alone
            for c in range(i, j):
                alone = "".join(_fold_char(ch) for ch in unicodedata.normalize("NFKC", text[c]))
                if alone:
                    pieces.append(alone)
                    segments.append((k, k + len(alone), c, c + 1, False))
                    k += len(alone)
        else:  # ｶ + ﾞ → ガ: the marks join the character before them
            base = i - 1
            if segments:  # take back what the character before gave the key
                k0, k1, o0, o1, regular = segments[-1]
                if regular and o1 - 1 == base:
                    pieces[-1] = pieces[-1][:-1]
                    k -= 1
                    if k1 - 1 > k0:
                        segments[-1] = (k0, k1 - 1, o0, o1 - 1, True)
                    else:
                        segments.pop()
                        pieces.pop()
                elif not regular and o0 == base:
                    segments.pop()
                    pieces.pop()
                    k = k0
            cluster = "".join(_fold_char(c) for c in unicodedata.normalize("NFKC", text[base:j]))
            if cluster:
                pieces.append(cluster)
                segments.append((k, k + len(cluster), base, j, False))
                k += len(cluster)
        pos = j
    if pos < n:
        pieces.append(joined[at:])
        segments.append((k, k + n - pos, pos, n, True))
    return Key("".join(pieces), segments=tuple(segments))


def _base_key_clusters(text: str) -> Key:
    """Build the key cluster by cluster, for text with combining marks (ｶﾞ, e\u0301)."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    n = len(text)
    leading = True  # marks with nothing before them stand alone (as in base_key)
    while i < n:
        leading = leading and _fold_single(text[i]) is _ATTACH
        j = i + 1 if leading else _cluster_end(text, i)
        norm = unicodedata.normalize("NFKC", text[i:j])
        for ch in norm:
            for f in _fold_char(ch):
                out.append(f)
                starts.append(i)
                ends.append(j)
        i = j
    return Key("".join(out), tuple(starts), tuple(ends))


_KATAKANA_RUN = re.compile(f"([{chr(_KATAKANA_START)}-{chr(_KATAKANA_END)}]+)")


def fold_kana(s: str) -> str:
    """Fold katakana to hiragana (コラボ -> こらぼ) so either spelling matches."""
    # Translating only the katakana runs: str.translate looks up every character it is given.
    parts = _KATAKANA_RUN.split(s)
    if len(parts) == 1:
        return s
    parts[1::2] = [run.translate(_KANA_TABLE) for run in parts[1::2]]
    return "".join(parts)


_SEP_CLASS = "[" + re.escape("".join(sorted(_SEPARATORS))) + "]"
_NOT_SEP = "[^" + re.escape("".join(sorted(_SEPARATORS))) + "]"
# Separator runs (at most 3 long) beside a one-character piece: the only runs evasion_key may
# drop. Found in C; the rule for each candidate is then checked in Python.
_SINGLE_LEFT = re.compile(f"(?:^|(?<={_SEP_CLASS})){_NOT_SEP}({_SEP_CLASS}{{1,3}})(?!{_SEP_CLASS})")
_SINGLE_RIGHT = re.compile(
    f"(?<!{_SEP_CLASS})({_SEP_CLASS}{{1,3}}){_NOT_SEP}(?:$|(?={_SEP_CLASS}))"
)


def _single_beyond(s: str, i: int, step: int) -> bool:
    """Return whether past the separators after s[i] (in direction step) stands one more single."""
    seps = _SEPARATORS
    n = len(s)
    j = i + step
    gap = 0
    while 0 <= j < n and s[j] in seps and gap <= 3:
        j += step
        gap += 1
    if gap == 0 or gap > 3 or not 0 <= j < n:
        return False
    k = j + step
    return not 0 <= k < n or s[k] in seps


def evasion_key(key: Key) -> Key:
    """Return a key that also sees through kana swaps and spaced-out letters (バ カ, c o l l a b).

    Katakana folds to hiragana, and separators are dropped where they sit beside
    single-character pieces, so 'コ・ラ・ボ' reads 'こらぼ' but 'I am a fan' keeps its spaces.
    """
    s = fold_kana(key.text)
    n = len(s)
    candidates = {m.span(1) for m in _SINGLE_LEFT.finditer(s)}
    candidates.update(m.span(1) for m in _SINGLE_RIGHT.finditer(s))
    seps = _SEPARATORS
    drops: list[tuple[int, int]] = []
    for a1, b0 in sorted(candidates):
        if a1 == 0 or b0 == n or "\n" in s[a1:b0]:
            continue  # nothing on one side, or a line break: not a spaced-out word
        left_single = a1 == 1 or s[a1 - 2] in seps
        right_single = b0 + 1 == n or s[b0 + 1] in seps
        # Latin needs both sides single ('a stupid' must stay two words) and three singles in a
        # row (in 'sam_l I promise' the two single letters are a handle's end and a word);
        # Japanese has no spaces between words, so one single character beside a gap is
        # already suspicious.
        latin = s[a1 - 1].isascii() or s[b0].isascii()
        if latin:
            if (
                left_single
                and right_single
                and (_single_beyond(s, a1 - 1, -1) or _single_beyond(s, b0, 1))
            ):
                drops.append((a1, b0))
        elif left_single or right_single:
            drops.append((a1, b0))
    if not drops:
        return Key(s, key._starts, key._ends, key._segments)
    starts, ends = key.starts, key.ends
    chars: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    prev = 0
    for a, b in drops:
        chars.append(s[prev:a])
        new_starts.extend(starts[prev:a])
        new_ends.extend(ends[prev:a])
        prev = b
    chars.append(s[prev:])
    new_starts.extend(starts[prev:])
    new_ends.extend(ends[prev:])
    return Key("".join(chars), tuple(new_starts), tuple(new_ends))


def normalize_term(term: str, *, evasion: bool = False) -> str:
    """Normalize a rule author's literal term the same way drafts are normalized."""
    key = base_key(term)
    if evasion:
        return evasion_key(key).text
    return key.text


_PATTERN_CACHE: dict[str, str] = {}
_COMBINING = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\u3099\u309a\ufe20-\ufe2f\uff9e\uff9f]"
)


def _pattern_char(ch: str) -> str:
    """Return the key form of one non-ASCII pattern character, metacharacters escaped."""
    cached = _PATTERN_CACHE.get(ch)
    if cached is None:
        folded = "".join(_fold_char(c) for c in unicodedata.normalize("NFKC", ch))
        # A full-width symbol that became an ASCII metacharacter stays literal (？ → \?).
        cached = "".join("\\" + c if c.isascii() and not c.isalnum() else c for c in folded)
        _PATTERN_CACHE[ch] = cached
    return cached


def _normalize_pattern_clusters(pattern: str, evasion: bool) -> str:
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch.isascii():
            out.append(ch)
            i += 1
            continue
        j = _cluster_end(pattern, i)
        norm = unicodedata.normalize("NFKC", pattern[i:j])
        for c in norm:
            folded = _fold_char(c)
            if folded.isascii() and folded and not folded.isalnum():
                out.append("\\" + folded)
            else:
                out.append(folded)
        i = j
    result = "".join(out)
    return fold_kana(result) if evasion else result


def normalize_pattern(pattern: str, *, evasion: bool = False) -> str:
    """Normalize the literal non-ASCII characters of a regex so it reads the key's alphabet.

    ASCII is left alone (case is handled by a case-insensitive compile, and folding ASCII
    would change escapes such as \\D), full-width and half-width forms become NFKC, long-vowel
    look-alikes become 'ー', and katakana becomes hiragana for rules that opt into evasion.
    """
    if pattern.isascii():
        return pattern
    if _COMBINING.search(pattern):
        return _normalize_pattern_clusters(pattern, evasion)
    out = [ch if ch.isascii() else _pattern_char(ch) for ch in pattern]
    result = "".join(out)
    return fold_kana(result) if evasion else result
