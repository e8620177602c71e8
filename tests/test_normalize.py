"""Normalization keys: folds that make variants match, and offsets that lead back to the original."""

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
