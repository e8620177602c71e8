"""Slack markup is read back as the words the person typed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.slack.text import decode_slack_text


def test_html_escapes_are_undone():
    assert decode_slack_text("A &amp; B &lt;3 &gt;_&lt;") == "A & B <3 >_<"


def test_an_escaped_entity_the_author_typed_survives():
    assert decode_slack_text("&amp;lt; is how HTML writes &lt;") == "&lt; is how HTML writes <"


def test_links_read_as_their_label_or_their_url():
    text = "詳しくは <https://example.com/a?b=1&amp;c=2> と <http://example.jp|example.jp> へ"
    assert decode_slack_text(text) == ("詳しくは https://example.com/a?b=1&c=2 と example.jp へ")


def test_mentions_of_slack_users_and_channels_are_set_aside():
    text = "<@U012ABCDEF> <#C012ABCDEF|general> <!here> <!subteam^S01|@mgr> この下書きお願いします"
    assert decode_slack_text(text) == "この下書きお願いします"


def test_x_handles_and_hashtags_are_part_of_the_draft():
    assert decode_slack_text("@sharp_jp さん #新商品 ありがとう！") == (
        "@sharp_jp さん #新商品 ありがとう！"
    )


def test_emoji_shortcodes_become_emoji_and_custom_ones_are_set_aside():
    assert (
        decode_slack_text("ありがとう:pray::skin-tone-3: :our-logo: :tada:") == "ありがとう🙏  🎉"
    )


def test_times_are_not_mistaken_for_emoji():
    assert decode_slack_text("10:00:30 開始") == "10:00:30 開始"


def test_code_fences_are_removed_and_their_text_kept():
    assert decode_slack_text("```今度コラボしませんか？```") == "今度コラボしませんか？"


def test_a_date_token_reads_as_its_fallback_text():
    assert decode_slack_text("<!date^1392734382^{date}|Feb 18, 2014> 公開") == "Feb 18, 2014 公開"


plain = st.text(
    alphabet=st.characters(blacklist_characters="<>&:`", blacklist_categories=("Cs",)),
    max_size=80,
)


@given(plain)
def test_text_without_markup_is_left_as_typed(text):
    assert decode_slack_text(text) == text.strip()


@given(plain)
def test_decoding_what_slack_escaped_gives_back_the_original(text):
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert decode_slack_text(escaped) == text.strip()
