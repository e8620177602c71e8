"""X weighted length: our fast path agrees with twitter-text, the maintained reference counter."""

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

from bot.rules.metrics import (
    _emoji_data,
    _emoji_sequences,
    _x_length_library,
    measure,
    x_weighted_length,
)

PIECES = [
    "a", "Z", " ", "あ", "ア", "漢", "。", ".", "、", "！", "ｶ", "ﾞ", "😀", "🙏", "☀", "✨",
    "©", "\u200d", "\ufe0f", "1", "#", "/", ":", "é", "e\u0301", "\r", "\n", "@sharp_jp",
    "https://example.com/path?q=1", " example.com", " t.co", " www.example.co.jp/a", "_", "-", "$",
    "http://例え.jp", "(https://example.com/a_(b))", "ｈｔｔｐ", "ver2.0", "→https://a.jp/x",
    "👨‍👩‍👧", "🇯🇵", "1️⃣", "―", "〜", "™",
]  # fmt: skip

# Bare domains (no https://) follow a space here. twitter-text reads a whole run of Japanese
# before a bare domain as part of it and then accepts or rejects the URL by IDNA rules over that
# run (あ。example.com is no URL, 詳しくはexample.com is); its regex takes milliseconds on long
# runs, so metrics.py decides from the run's first character and the domain only. Protocol URLs,
# the usual case, are exact wherever they stand.
drafts = st.lists(st.sampled_from(PIECES), max_size=120).map("".join)


@settings(max_examples=1500, deadline=None)
@given(drafts)
def test_weighted_length_matches_twitter_text(text):
    assert x_weighted_length(text, 280)[0] == parse_tweet(text).weightedLength


@settings(max_examples=300, deadline=None)
@given(drafts, st.integers(min_value=23, max_value=200))  # the first unit (≤ 23) always fits
def test_the_first_character_over_the_limit_matches_the_reference(text, limit):
    assert x_weighted_length(text, limit) == _x_length_library(text, limit)


def test_cjk_counts_two_and_every_url_23():
    assert x_weighted_length("あ" * 140)[0] == 280
    assert x_weighted_length("見て https://example.com/a/very/long/path/indeed")[0] == 4 + 1 + 23
    assert measure("x_weighted_length", "あ" * 140, 280) is None
    assert measure("x_weighted_length", "あ" * 141, 280) == (140, 141, 282)


def test_twitter_text_stays_importable_after_the_engine_loaded_only_its_url_extractor():
    code = (
        "from bot.rules.metrics import x_weighted_length, _x_length_library;"
        "x_weighted_length('see https://example.com ' + 'あ' * 200);"
        "_x_length_library('a\\r\\nb', 280);"
        "from twitter_text import parse_tweet, extract_urls;"
        "print(parse_tweet('abc').weightedLength, extract_urls('see a.com'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "3 ['a.com']", out.stderr


EMOJI_PIECES = [
    "👨‍👩‍👧", "👨", "\u200d", "👩", "🇯🇵", "🇯", "1️⃣", "1", "#", "\ufe0f", "\u20e3", "👋🏻", "🏻",
    "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", "❤️", "❤", "☺", "a", "あ",
    " ", "😀", "©", "\ufe0e", "*",
]  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(EMOJI_PIECES), max_size=60).map("".join))
def test_emoji_found_run_by_run_are_those_a_whole_text_search_finds(text):
    automaton = _emoji_data()[0]
    whole = [(end - size + 1, end + 1) for end, size in automaton.iter_long(text)]
    assert _emoji_sequences(text) == whole


def test_every_multi_code_point_emoji_holds_a_sequence_part():
    # Otherwise _emoji_sequences falls back to searching the whole text (still right, slower).
    assert _emoji_data()[2]


def test_a_url_seen_before_is_counted_the_same_from_the_cache():
    text = "詳しくは https://example.com/a_(b) と www.example.co.jp/x を見てね"
    first = x_weighted_length(text, 280)
    assert x_weighted_length(text, 280) == first == (parse_tweet(text).weightedLength, len(text))
