"""The rule kinds: terms, patterns, allow-lists, context guards, proximity, substitution, metrics."""

import pytest

from bot.rules.engine import MAX_FINDINGS_PER_RULE
from tests.rules_helpers import rule_ids, ruleset

COLLAB = """
- id: collaboration.proposal
  category: collaboration
  requires_approval: true
  guideline: G5
  message: {ja: "コラボは上長の承認が必要です(G5)", en: "Collaborations need approval (G5)"}
  terms: [コラボ, タイアップ, collab]
  patterns: ['一緒に.{0,12}(しませんか|やりませんか|やりましょう)']
  allow: [コラボレーションツール]
  evasion: true
  examples:
    match: ["今度コラボしませんか？"]
    no_match: ["社内のコラボレーションツールを刷新しました"]
"""


@pytest.fixture(scope="module")
def collab():
    return ruleset(COLLAB)


@pytest.mark.parametrize(
    "text, excerpt",
    [
        ("今度コラボしませんか？", "コラボ"),
        ("今度ｺﾗﾎﾞしませんか？", "ｺﾗﾎﾞ"),
        ("今度こらぼしませんか？", "こらぼ"),
        ("今度コ・ラ・ボしませんか？", "コ・ラ・ボ"),
        ("今度コ\u200bラボしませんか", "コ\u200bラボ"),
        ("Let's C O L L A B!", "C O L L A B"),
        ("ＣＯＬＬＡＢ please", "ＣＯＬＬＡＢ"),
        ("御社と一緒に何かやりませんか", "一緒に何かやりませんか"),
    ],
)
def test_collaboration_variants_are_found_with_the_original_excerpt(collab, text, excerpt):
    review = collab.review(text)
    assert review.verdict == "approval"
    finding = review.findings[0]
    assert text[finding.start : finding.end] == finding.excerpt == excerpt


def test_a_longer_allowed_term_wins_over_a_match_inside_it(collab):
    assert collab.review("社内のコラボレーションツールを刷新しました").verdict == "ok"


def test_english_terms_match_whole_words_only(collab):
    assert rule_ids(collab, "We value collaboration with customers") == []
    assert rule_ids(collab, "Wanna collab?") == ["collaboration.proposal"]


def test_message_follows_the_file_locale():
    rs = ruleset(COLLAB, locale="en")
    assert rs.review("collab?").findings[0].message == "Collaborations need approval (G5)"


def test_context_guards_cancel_a_match_right_before_or_after():
    rs = ruleset(
        """
        - id: commitment.discount
          category: commitment
          message: "割引の約束はしないでください(G6)"
          terms: [割引]
          not_preceded_by: [公式サイトの]
          not_followed_by: [対象外]
          examples:
            match: ["特別に割引しますね"]
            no_match: ["公式サイトの割引情報をご覧ください", "こちらは割引対象外です"]
        """
    )
    assert rule_ids(rs, "特別に割引しますね") == ["commitment.discount"]
    assert rule_ids(rs, "公式サイトの割引情報") == []
    assert rule_ids(rs, "割引対象外です") == []


def test_near_flags_a_competitor_only_close_to_a_negative_word():
    rs = ruleset(
        """
        - id: competitor.disparage
          category: competitor
          message: "他社を下げる表現は避けましょう(G8)"
          terms: [他社, A社]
          near: {terms: [最悪, ひどい, 劣る], within: 10}
          examples:
            match: ["A社の製品は最悪です"]
            no_match: ["A社の新製品、素敵ですね"]
        """
    )
    assert rule_ids(rs, "A社の製品は最悪です") == ["competitor.disparage"]
    assert rule_ids(rs, "A社の新製品、素敵ですね") == []
    assert rule_ids(rs, "A社の新製品、素敵ですね。" + "あ" * 30 + "最悪") == []


def test_unless_drops_a_claim_that_carries_a_qualifier():
    rs = ruleset(
        """
        - id: commitment.date
          category: commitment
          message: "日付の約束は公式発表まで控えましょう(G6)"
          patterns: ['[0-9]+月[0-9]+日']
          unless: {terms: [予定, 公式サイト], within: 15}
          examples:
            match: ["3月1日に発売します"]
            no_match: ["3月1日発売予定です"]
        """
    )
    assert rule_ids(rs, "3月1日に届けます") == ["commitment.date"]
    assert rule_ids(rs, "3月1日発売予定です") == []


def test_substitution_rules_suggest_the_replacement_for_the_matched_term():
    rs = ruleset(
        """
        - id: overboard.slang
          category: overboard
          severity: info
          message: "くだけすぎた言葉です(G2)"
          replace: {ヤバい: すごい, マジで: 本当に}
          examples:
            match: ["マジでうれしい"]
            no_match: ["本当にうれしい"]
        """
    )
    finding = rs.review("これマジでヤバい").findings
    assert [(f.excerpt, f.suggestion) for f in finding] == [
        ("マジで", "本当に"),
        ("ヤバい", "すごい"),
    ]
    assert rs.review("これマジでヤバい").verdict == "ok"  # info only


def test_x_weighted_length_counts_cjk_double_and_urls_as_23():
    rs = ruleset(
        """
        - id: format.x_length
          category: format
          message: "X の上限 {max} を {over} 超えています（{value}）"
          metric: {kind: x_weighted_length, max: 280}
          examples:
            match: [{repeat: "あ", times: 141}]
            no_match: [{repeat: "あ", times: 140}]
        """
    )
    assert rs.review("あ" * 140).verdict == "ok"
    over = rs.review("あ" * 135 + " https://example.com/a/very/long/path/that/is/long")
    assert over.verdict == "warn"
    assert over.findings[0].message == "X の上限 280 を 14 超えています（294）"
    text = "a" * 275 + "日本語です"
    finding = rs.review(text).findings[0]
    assert text[finding.start : finding.end] == finding.excerpt == "語です"  # 275+2+2+2 > 280
    assert rs.review("a" * 270 + "日本語です").verdict == "ok"  # exactly 280 fits


def test_hashtag_limit_marks_the_extra_hashtags():
    rs = ruleset(
        """
        - id: format.hashtags
          category: format
          message: "ハッシュタグは {max} 個までにしましょう（{value} 個）"
          metric: {kind: hashtags, max: 2}
          examples:
            match: ["#a #b #c"]
            no_match: ["#a #b"]
        """
    )
    finding = rs.review("新商品 #文具 #ペン #新作").findings[0]
    assert finding.excerpt == "#新作"
    assert rs.review("色は#1と#2と#3").verdict == "ok"  # numbers are not hashtags


def test_severity_and_approval_combine_into_the_verdict(collab):
    rs = ruleset(
        COLLAB
        + """
- id: privacy.phone
  category: privacy
  severity: error
  message: "個人の電話番号は書かないでください(G4)"
  patterns: ['0[789]0-?[0-9]{4}-?[0-9]{4}']
  examples:
    match: ["090-1234-5678"]
    no_match: ["0120-123-456"]
"""
    )
    assert rs.review("コラボしよう 090-1234-5678").verdict == "block"
    assert rs.review("コラボしよう").verdict == "approval"
    assert rs.review("こんにちは").verdict == "ok"


def test_a_catastrophic_pattern_on_50000_characters_returns_promptly():
    rs = ruleset(
        """
        - id: hostile.regex
          category: test
          message: "x"
          patterns: ['(a+)+$', '(a|aa)+b', '(.*a){20}']
          examples:
            match: ["aaa"]
            no_match: ["bbb"]
        """
    )
    # RE2 is linear: this returns (a backtracking engine would run for longer than the universe).
    review = rs.review("a" * 50_000 + "!")
    assert review.findings  # '(.*a){20}' matches
    assert len(review.findings) <= MAX_FINDINGS_PER_RULE


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\n",
        "👨‍👩‍👧‍👦" * 100,
        "שלום עולם مرحبا" * 50,
        "\u200b\u200d\ufeff" * 1000,
        "コラボ" * 40_000,
        "\ud800 lone surrogate",
        "a\x00b",
    ],
)
def test_odd_drafts_give_a_result_not_a_traceback(collab, text):
    review = collab.review(text)
    assert review.verdict in {"ok", "warn", "approval", "block"}
    for f in review.findings:
        assert text[f.start : f.end] == f.excerpt


def test_one_repeated_word_yields_a_bounded_number_of_findings(collab):
    review = collab.review("コラボ " * 10_000)
    assert 0 < len(review.findings) <= MAX_FINDINGS_PER_RULE


def test_kana_folding_does_not_join_two_words_written_in_different_scripts():
    rs = ruleset(
        """
        - id: overboard.insult
          category: overboard
          message: "x"
          terms: [ガキ]
          evasion: true
          examples:
            match: ["このガキ", "このがき", "ガ キ"]
            no_match: ["猫がキーボードに乗りました"]
        """
    )
    assert rule_ids(rs, "猫がキーボードに乗りました") == []
    assert rule_ids(rs, "このがきが") == ["overboard.insult"]


def test_a_list_of_near_contexts_requires_every_one_close_by():
    rs = ruleset(
        """
        - id: collaboration.paraphrase
          category: collaboration
          requires_approval: true
          message: "x"
          terms: [一緒に]
          near:
            - {terms: [御社, そちら], within: 20}
            - {terms: [企画, キャンペーン], within: 20}
          examples:
            match: ["御社と一緒に企画を"]
            no_match: ["みんなで一緒に応援しましょう", "御社と一緒に", "一緒に企画を"]
        """
    )
    assert rule_ids(rs, "そちらと一緒にキャンペーンどうでしょう") == ["collaboration.paraphrase"]
    assert rule_ids(rs, "一緒にキャンペーンを楽しみましょう") == []


def test_near_cues_written_as_patterns_or_terms_are_both_seen():
    # The engine skips a rule early when a near-context is missing from the draft; cues that
    # come from a pattern, from a pattern without a fixed literal, or from a term all count.
    rs = ruleset(
        """
        - id: competitor.putdown
          category: competitor
          message: "x"
          patterns: ['@[a-z0-9_]+']
          near:
            - {patterns: ['(遅|高)すぎ'], within: 15}
            - {patterns: ['[0-9]{2}'], terms: [最悪], within: 15}
          examples:
            match: ["@rival 遅すぎ 最悪"]
            no_match: ["@rival 遅すぎ", "@rival 最悪"]
        """
    )
    assert rule_ids(rs, "@rival 高すぎ、10点") == ["competitor.putdown"]
    assert rule_ids(rs, "@rival 遅すぎ最悪") == ["competitor.putdown"]
    assert rule_ids(rs, "@rival 高すぎ、3点") == []
    assert rule_ids(rs, "遅すぎ 10点") == []


def test_allow_also_silences_a_near_cue_inside_an_allowed_word():
    rs = ruleset(
        """
        - id: competitor.disparage
          category: competitor
          message: "x"
          terms: [他社]
          near: {terms: [ださい], within: 20}
          allow: [ください]
          examples:
            match: ["他社のロゴ、ださいですね"]
            no_match: ["他社製品との比較はご遠慮ください"]
        """
    )
    assert rule_ids(rs, "他社製品との比較はご遠慮ください") == []


def test_a_pattern_match_that_cuts_into_an_allowed_word_is_dropped():
    rs = ruleset(
        """
        - id: competitor.dasai
          category: competitor
          message: "x"
          patterns: ['その.{0,10}ださい']
          allow: [ください]
          examples:
            match: ["そのロゴ、ださいですね"]
            no_match: ["そのままお待ちください"]
        """
    )
    assert rule_ids(rs, "そのままお待ちください") == []
    assert rule_ids(rs, "そのロゴ、ださい") == ["competitor.dasai"]


def test_cues_of_one_rule_in_one_sentence_make_one_finding():
    rs = ruleset(
        """
        - id: collaboration.invite
          category: collaboration
          requires_approval: true
          message: "x"
          terms: [一緒に, 企画, ませんか]
          examples:
            match: ["一緒に企画しませんか"]
            no_match: ["こんにちは"]
        """
    )
    findings = rs.review("御社と一緒に新しい企画をやりませんか？来月また。企画書も").findings
    assert [f.excerpt for f in findings] == ["一緒に新しい企画をやりませんか", "企画"]


def test_overlapping_findings_of_one_category_show_once_and_keep_the_routing():
    rs = ruleset(
        """
        - id: collaboration.word
          category: collaboration
          requires_approval: true
          message: "word"
          terms: [コラボ]
          examples:
            match: ["コラボ"]
            no_match: ["こんにちは"]
        - id: collaboration.strong
          category: collaboration
          severity: error
          message: "strong"
          patterns: ['コラボしませんか']
          examples:
            match: ["コラボしませんか"]
            no_match: ["コラボ"]
        - id: overboard.x
          category: overboard
          message: "other category"
          terms: [コラボ]
          examples:
            match: ["コラボ"]
            no_match: ["こんにちは"]
        """
    )
    review = rs.review("コラボしませんか")
    assert [(f.rule_id, f.requires_approval) for f in review.findings] == [
        ("collaboration.strong", True),
        ("overboard.x", False),
    ]
    assert review.verdict == "block"


def test_a_term_written_in_mixed_kana_still_matches_as_written_and_in_hiragana():
    rs = ruleset(
        """
        - id: overboard.kimoi
          category: overboard
          message: "x"
          terms: [キモい]
          evasion: true
          examples:
            match: ["それキモい", "それきもい", "キ モ い"]
            no_match: ["気持ちいい"]
        """
    )
    assert rule_ids(rs, "その服キモいです") == ["overboard.kimoi"]


@pytest.fixture(scope="module")
def shipped_pair():
    """Two separately loaded copies of the shipped rules (each scorer warms up on its own)."""
    from pathlib import Path

    from bot.rules import load_rules

    path = Path(__file__).resolve().parent.parent / "rules.yaml"
    return load_rules(path), load_rules(path)


def _varied_drafts():
    import random

    rnd = random.Random(3)
    pieces = [
        "今度コラボしませんか？", "ｺﾗﾎﾞ", "コ・ラ・ボ", "バ カ", "キモい", "ご予約ありがとうございます。",
        "Wanna collab?", "DM me your LINE", "090-1234-5678", "https://example.com/a?b=1 ", "@acme_jp ",
        "\u200b", "\u200d", "👨‍👩‍👧", "❤️", "🇯🇵", "ｶﾞ", "e\u0301", "㈱", "〜", "\r\n", "…", "＃新商品 ",
        "他社さんの新作、正直微妙ですね笑", "We can give you a full refund today!", " ", "\ud800",
    ]  # fmt: skip
    drafts = ["", " ", "\u200b", "\ud800", "\udfff 本日はありがとうございました", "ﾞ", "a", "😀" * 3]
    for _ in range(150):
        drafts.append("".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 25))))
    drafts.append("コラボ" + "あ" * 100_000 + " collab")
    drafts.append(("バカ、コラボしませんか？ " * 9000)[:100_000])
    return drafts


def test_reviewing_many_drafts_at_once_gives_what_each_review_gives(shipped_pair):
    one_by_one, together = shipped_pair
    drafts = _varied_drafts()
    # Past the scorer's plain-Python warm-up, across several numpy passes, then one draft alone.
    expected = [one_by_one.review(t) for t in drafts]
    assert together.review_many(drafts) == expected
    assert together.review_many(drafts[10:11]) == [one_by_one.review(drafts[10])]
    assert together.review_many([]) == []
    flagged = [r for r in expected if r.findings]
    assert len(flagged) > len(drafts) // 2  # the drafts exercise the rules, not just the path
    assert any(f.rule_id.endswith(".model") for r in expected for f in r.findings)


def test_review_many_without_classifier_rules_reviews_draft_by_draft(collab):
    drafts = ["今度コラボしませんか？", "", "社内のコラボレーションツール", "\ud800コラボ"]
    assert collab.review_many(drafts) == [collab.review(t) for t in drafts]


def test_preparing_everything_up_front_changes_no_review(shipped_pair, tmp_path):
    # check --batch calls prepare_all() before forking its workers: every deferred pattern is
    # compiled and the scorer's tables built once, in the parent. Reviews must not change.
    from pathlib import Path

    from bot.rules import load_rules, metrics

    shipped = Path(__file__).resolve().parent.parent / "rules.yaml"
    load_rules(shipped, cache_dir=tmp_path)  # vouches for the file: the next load defers
    deferred = load_rules(shipped, cache_dir=tmp_path)
    patterns = [*deferred._base._patterns, *deferred._evasion._patterns]
    assert any(p.compiled is None for p in patterns)
    metrics._twitter_text.cache_clear()
    deferred.prepare_all()
    assert all(p.compiled is not None for p in patterns)
    assert deferred._scorer is not None and deferred._scorer._np is not None
    assert metrics._twitter_text.cache_info().currsize == 1  # the URL extractor, loaded too
    drafts = _varied_drafts()
    one_by_one, _ = shipped_pair
    assert deferred.review_many(drafts) == [one_by_one.review(t) for t in drafts]
