"""Normalization keys: folds that make variants match, and offsets that lead back to the original."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.rules.normalize import base_key, evasion_key, normalize_pattern, normalize_term


def test_half_width_katakana_reads_as_full_width_and_maps_back_to_the_original_span():
    text = "今度ｺﾗﾎﾞしよう"
    key = base_key(text)
    i = key.text.index("コラボ")
    start, end = key.span(i, i + 3)
    assert text[start:end] == "ｺﾗﾎﾞ"


def test_nfkc_expansion_keeps_every_key_character_pointing_at_its_source():
    text = "㈱テスト"
    key = base_key(text)
    assert key.text.startswith("(株)")
    assert key.span(0, 3) == (0, 1)


def test_long_vowel_marks_and_wave_dashes_fold_to_one_mark():
    assert base_key("すご〜い").text == base_key("すごーい").text == base_key("すご～い").text


def test_zero_width_characters_are_invisible_to_matching():
    text = "コ\u200bラボ"
    key = base_key(text)
    assert key.text == "コラボ"
    assert key.span(0, 3) == (0, 4)


def test_case_is_folded_for_latin_and_full_width_latin():
    assert base_key("ＣＯＬＬＡＢ").text == "collab"
    assert base_key("Collab").text == "collab"


def test_evasion_key_joins_spaced_out_letters_and_folds_kana():
    assert evasion_key(base_key("コ・ラ・ボ")).text == "こらぼ"
    assert evasion_key(base_key("c o l l a b")).text == "collab"
    assert evasion_key(base_key("バ カだね")).text == "ばかだね"


def test_evasion_key_keeps_ordinary_english_word_spacing():
    assert evasion_key(base_key("you are a stupid company")).text == "you are a stupid company"
    assert evasion_key(base_key("I am a fan")).text == "i am a fan"
    # Two single letters are not a spaced-out word: a handle's last letter and "I".
    assert evasion_key(base_key("@sam_l I promise")).text == "@sam_l i promise"
    assert evasion_key(base_key("plan b a deal")).text == "plan b a deal"
    assert evasion_key(base_key("x y z")).text == "xyz"  # three in a row are


def test_patterns_keep_ascii_syntax_and_normalize_japanese_literals():
    assert normalize_pattern(r"\Dｺﾗﾎﾞ？") == r"\Dコラボ\?"
    assert normalize_pattern("コラボ", evasion=True) == "こらぼ"
    assert normalize_term("ｺﾗﾎﾞ") == "コラボ"


@given(st.text(max_size=200))
def test_every_key_span_lies_inside_the_original_text(text):
    key = base_key(text)
    assert len(key.starts) == len(key.ends) == len(key.text)
    for s, e in zip(key.starts, key.ends, strict=True):
        assert 0 <= s < e <= len(text)
    assert list(key.starts) == sorted(key.starts)


@given(st.text(alphabet=st.sampled_from("バカコラボｺﾗﾎﾞ ・.ばかabc\u200b〜ー"), max_size=60))
def test_evasion_key_spans_are_ordered_and_inside_the_text(text):
    key = evasion_key(base_key(text))
    assert len(key.starts) == len(key.text)
    for s, e in zip(key.starts, key.ends, strict=True):
        assert 0 <= s < e <= len(text)
    assert list(key.starts) == sorted(key.starts)


@given(
    st.text(max_size=40),
    st.sampled_from(["コラボ", "ｺﾗﾎﾞ", "コ\u200bラボ", "ＣＯＬＬＡＢ", "collab"]),
    st.text(max_size=40),
)
def test_a_term_found_in_the_key_maps_back_to_exactly_its_original_spelling(before, word, after):
    text = before + " " + word + " " + after
    key = base_key(text)
    target = base_key(word).text
    i = key.text.find(target, base_key(before + " ").text.__len__())
    assert i >= 0
    start, end = key.span(i, i + len(target))
    assert text[start:end] == word


@given(st.text(alphabet=st.characters(blacklist_categories=["Mn", "Mc", "Me", "Cs"]), max_size=80))
def test_the_per_character_fast_path_agrees_with_cluster_by_cluster_normalization(text):
    from bot.rules.normalize import _base_key_clusters

    fast, slow = base_key(text), _base_key_clusters(text)
    assert (fast.text, fast.starts, fast.ends) == (slow.text, slow.starts, slow.ends)


def _per_character_key(text):
    """The key as normalize.base_key built it before segments: every offset listed (reference)."""
    import unicodedata

    from bot.rules.normalize import _ATTACH, _FOLD_TABLE, _fold_char

    table = _FOLD_TABLE
    chars, starts, ends = [], [], []
    i, n = 0, len(text)
    while i < n:
        folded = table[ord(text[i])]
        if folded is not _ATTACH:
            chars.extend(folded)
            starts.extend([i] * len(folded))
            ends.extend([i + 1] * len(folded))
            i += 1
            continue
        j = i + 1
        while j < n and table[ord(text[j])] is _ATTACH:
            j += 1
        if i == 0:
            for k in range(i, j):
                alone = "".join(_fold_char(c) for c in unicodedata.normalize("NFKC", text[k]))
                chars.extend(alone)
                starts.extend([k] * len(alone))
                ends.extend([k + 1] * len(alone))
        else:
            base = i - 1
            while starts and starts[-1] == base:
                chars.pop()
                starts.pop()
                ends.pop()
            cluster = "".join(_fold_char(c) for c in unicodedata.normalize("NFKC", text[base:j]))
            chars.extend(cluster)
            starts.extend([base] * len(cluster))
            ends.extend([j] * len(cluster))
        i = j
    return "".join(chars), tuple(starts), tuple(ends)


# Characters whose fold is not one character (ｶﾞ, ㈱, zero-width) among ordinary ones.
IRREGULAR_PIECES = ["a", "B", "あ", "カ", "ｶ", "ﾞ", "ﾟ", "\u3099", "e", "\u0301", "\u200b", "\u200d",
                    "\ufe0f", "㈱", "ﬁ", "〜", "😀", "👨", "\u00ad", "Å"]  # fmt: skip
IRREGULAR = st.text(alphabet=st.sampled_from([*IRREGULAR_PIECES, " ", "…"]), max_size=40)


@given(st.one_of(IRREGULAR, st.text(max_size=60)))
def test_segments_map_every_key_character_as_the_per_character_lists_did(text):
    key = base_key(text)
    text_, starts, ends = _per_character_key(text)
    assert key.text == text_
    # Spans read from the segments (lazily), then from the spelled-out tuples.
    spans = [key.span(i, i + 1) for i in range(len(key.text))]
    assert spans == list(zip(starts, ends, strict=True))
    assert (key.starts, key.ends) == (starts, ends)
    if key.text:
        assert key.span(0, len(key.text)) == (starts[0], ends[-1])


@given(st.text(alphabet=st.sampled_from(IRREGULAR_PIECES), max_size=40))
def test_an_evasion_key_without_separators_keeps_the_base_keys_map(text):
    key = evasion_key(base_key(text))
    _, starts, ends = _per_character_key(text)
    assert [key.span(i, i + 1) for i in range(len(key.text))] == list(
        zip(starts, ends, strict=True)
    )


@pytest.mark.parametrize("text", ["ﾞﾞ", "ﾟﾞabc", "ﾞ", "ﾞﾞｶﾞ"])
def test_voiced_marks_with_nothing_before_them_form_one_cluster_as_the_slow_path_says(text):
    from bot.rules.normalize import _base_key_clusters

    fast, slow = base_key(text), _base_key_clusters(text)
    assert (fast.text, fast.starts, fast.ends) == (slow.text, slow.starts, slow.ends)
