"""Classifier rules: a trained model beside the word rules, from training to a finding."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.rules import RulesError, load_rules, load_rules_text
from bot.rules import classifier as C
from bot.rules.evaluate import parse_corpus
from bot.rules.normalize import base_key
from tests.rules_helpers import TRAINING_CORPORA, rules_yaml

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["overboard", "competitor", "commitment", "collaboration", "privacy"]

# A toy corpus with a clear signal: mocking replies (with 笑 and rhetorical questions) against
# ordinary thanks and notices.
MOCKING = [
    f"@user{i} え、まだ{w}してなかったんですか？そこからですか笑"
    for i, w in enumerate(
        [
            "設定",
            "登録",
            "更新",
            "確認",
            "充電",
            "保存",
            "予約",
            "入力",
            "接続",
            "再起動",
            "申込",
            "解約",
        ]
    )
]
POLITE = [
    f"@user{i} {w}ありがとうございます。詳しくは公式サイトをご覧ください"
    for i, w in enumerate(
        [
            "ご質問",
            "ご連絡",
            "ご来店",
            "ご購入",
            "ご予約",
            "ご意見",
            "お問い合わせ",
            "ご利用",
            "ご参加",
            "ご応募",
            "ご感想",
            "ご注文",
        ]
    )
]


def _toy_model() -> C.Model:
    return C.train(MOCKING + POLITE, [True] * len(MOCKING) + [False] * len(POLITE))


def test_a_trained_model_scores_its_kind_of_draft_high_and_the_rest_low():
    model = _toy_model()
    assert model.score("@kai え、まだ設定してなかったんですか？笑") > 0.5
    assert model.score("@kai ご質問ありがとうございます。公式サイトをご覧ください") < 0.5
    again = C.Model.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.score("そこからですか笑") == pytest.approx(
        model.score("そこからですか笑"), abs=1e-4
    )


@pytest.mark.parametrize("warm_up", [0, 10**9], ids=["numpy tables", "plain python"])
def test_the_scorer_gives_each_model_the_score_it_gives_alone(warm_up):
    models = [
        C.Model.from_dict(json.loads((ROOT / f"bot/data/models/{c}.json").read_text()))
        for c in SHIPPED
    ]
    scorer = C.Scorer(models, warm_up=warm_up)
    odd = ["", "a", "🎉" * 5, "https://t.co/x @abc 123 ｺﾗﾎﾞ", "Unlike some brands, we test ours."]
    for text in [*MOCKING[:3], *POLITE[:3], *odd]:
        alone = [m.score(text) for m in models]
        assert scorer.scores(base_key(text).text) == pytest.approx(alone, abs=1e-9)
    assert (scorer._np is None) == (warm_up > 0)


def _shipped_models():
    return [
        C.Model.from_dict(json.loads((ROOT / f"bot/data/models/{c}.json").read_text()))
        for c in SHIPPED
    ]


def test_scoring_drafts_together_gives_each_exactly_the_score_it_gets_alone():
    models = _shipped_models()
    dev = parse_corpus((ROOT / "tests/corpus/dev.yaml").read_text(encoding="utf-8"))
    odd = ["", "a", "🎉" * 5, "https://t.co/x @abc 123 ｺﾗﾎﾞ", "a\x00b 12", "\x02\x03", "x" * 5000]
    keys = [base_key(t).text for t in [*odd, *(d.text for d in dev[:150]), *MOCKING, *POLITE]]
    alone = C.Scorer(models, warm_up=0)
    together = C.Scorer(models, warm_up=3)
    expected = [alone.scores(k) for k in keys]
    # Bit for bit (==, not approx) once past the warm-up: a verdict at the threshold or a
    # percentage in a message must not depend on which drafts share a batch.
    got = together.scores_many(keys)
    assert got[3:] == expected[3:]
    for plain, table in zip(got[:3], expected[:3], strict=True):  # plain Python: warming up
        assert plain == pytest.approx(table, abs=1e-9)
    assert together.scores_many(keys[::-1]) == expected[::-1]
    assert together.scores_many([]) == []


def test_tables_read_back_from_a_file_score_bit_for_bit_as_the_ones_built():
    import pickle

    models = _shipped_models()
    dev = parse_corpus((ROOT / "tests/corpus/dev.yaml").read_text(encoding="utf-8"))
    keys = [base_key(d.text).text for d in dev[:120]] + [base_key(t).text for t in MOCKING]
    built = C.Scorer(models, warm_up=0)
    expected = built.margins_many(keys)
    kept = pickle.dumps(built.tables())
    read = C.Scorer(models, warm_up=0)
    assert read.use_tables(pickle.loads(kept))
    assert read.margins_many(keys) == expected  # in batches
    assert [read.margins_many([k])[0] for k in keys] == expected  # one by one
    # The transposed copy of the n-gram weights is derived on reading, not kept in the file.
    group = built.tables()[0]
    state = group.__getstate__()
    transposed = group.by_code.T
    assert not any(
        getattr(v, "shape", None) == transposed.shape and (v == transposed).all() for v in state
    )
    with pytest.raises(ValueError):  # tables of another layout: the loader builds anew
        type(group).__new__(type(group)).__setstate__(state[:-1])


ENGLISH = [
    "Unlike some brands, we actually test ours. Thank you for asking!",
    "Thank you for asking: our spring menu starts on Monday.",
    "Honestly, if you had read the manual you would know. Thank you thank you.",
]


def test_word_pairs_and_binary_features_score_alike_alone_in_tables_and_in_batches():
    texts = MOCKING + POLITE + ENGLISH
    labels = [True] * len(MOCKING) + [False] * len(POLITE) + [True, False, True]
    model = C.train(texts, labels, min_count=1)
    assert model.word_pairs and model.binary
    assert any(" " in g for g in model.weights)  # a pair of English words
    old = C.train(texts, labels, min_count=1, word_pairs=False, binary=False)
    models = [model, old, *_shipped_models()[:1]]
    keys = [base_key(t).text for t in [*texts, "", "a", "ok ok ok", "thank you thank you"]]
    plain = C.Scorer(models, warm_up=10**9).scores_many(keys)
    alone = C.Scorer(models, warm_up=0)
    expected = [alone.scores(k) for k in keys]
    for got, want, text in zip(plain, expected, keys, strict=True):
        assert got == pytest.approx(want, abs=1e-9)
        assert got[0] == pytest.approx(model.score(text), abs=1e-12)
    assert C.Scorer(models, warm_up=0).scores_many(keys) == expected


def test_a_version_1_model_is_read_with_its_old_feature_scheme_and_others_are_refused():
    v1 = {"version": 1, "bias": 0.0, "n_min": 1, "n_max": 3, "words": True, "weights": {"a": 1}}
    model = C.Model.from_dict(v1)
    assert not model.word_pairs and not model.binary
    # A repeated feature counts each time in the old scheme.
    assert model.margin("aa") == pytest.approx(
        2 / 10**0.5
    )  # 10 features: 4 chars, 3 pairs, 2 triples, a word
    again = C.Model.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.to_dict()["version"] == C.FORMAT_VERSION and again.margin("aa") == model.margin(
        "aa"
    )
    with pytest.raises(ValueError, match="needs `word_pairs`"):
        C.Model.from_dict({**v1, "version": 2})
    with pytest.raises(ValueError, match=r"version: 3 .* reads versions 1, 2"):
        C.Model.from_dict({**v1, "version": 3})
    binary = C.Model.from_dict({**v1, "version": 2, "word_pairs": False, "binary": True})
    assert binary.margin("aa") == pytest.approx(1 / 10**0.5)


def test_an_n_grams_code_is_its_code_points_in_base_0x110000():
    import numpy as np

    grams = ["a", "ab", "abc", "日", "日本", "🎉x", "\U0010ffff" * 3, "\x00", "\ud800z"]
    expected = [sum(ord(c) * 0x110000 ** (len(g) - 1 - k) for k, c in enumerate(g)) for g in grams]
    assert C._gram_codes(np, grams).tolist() == expected
    assert C._gram_codes(np, []).tolist() == []


def test_the_scorers_hash_table_finds_what_a_sorted_search_finds():
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(5)
    # Few distinct codes sharing their high bits, duplicates and absent codes: probing is exercised.
    codes = np.sort(np.concatenate([rng.integers(0, 1 << 62, 3000), np.arange(50) << 40]))
    codes = np.concatenate([codes, codes[:7]])
    codes.sort()
    table = C._hash_table(np, codes)
    needles = np.concatenate([codes, rng.integers(0, 1 << 62, 3000), (np.arange(60) << 40) + 1])
    at = np.searchsorted(codes, needles).clip(max=len(codes) - 1)
    expected = np.where(codes[at] == needles, at, -1)
    assert (C._lookup(np, table, needles) == expected).all()
    assert (expected >= 0).sum() >= len(codes)


def _rules_with_model(
    tmp_path: Path,
    threshold: float = 0.5,
    unless: str = "",
    no_match: str = "@kai ご連絡ありがとうございます",
) -> Path:
    (tmp_path / "mock.json").write_text(json.dumps(_toy_model().to_dict()), encoding="utf-8")
    path = tmp_path / "rules.yaml"
    guard = f"unless: {unless}" if unless else ""
    path.write_text(
        rules_yaml(
            f"""
            - id: overboard.model
              category: overboard
              confidence: medium
              message: "見下しに読めるかも（推定 {{score}}%）"
              classifier: {{model: mock.json, threshold: {threshold}}}
              {guard}
              examples:
                match: ["@kai え、まだ登録してなかったんですか？笑"]
                no_match: ["{no_match}"]
            """
        ),
        encoding="utf-8",
    )
    return path


def test_a_classifier_rule_flags_the_draft_and_points_at_its_most_telling_sentence(tmp_path):
    rs = load_rules(_rules_with_model(tmp_path))
    text = "@kai ご連絡ありがとうございます。え、まだ更新してなかったんですか？そこからですか笑"
    [finding] = rs.review(text).findings
    assert finding.rule_id == "overboard.model" and finding.confidence == "medium"
    assert finding.excerpt == "え、まだ更新してなかったんですか？"
    assert finding.excerpt == text[finding.start : finding.end]
    assert "推定" in finding.message and "{score}" not in finding.message
    assert rs.review("@kai ご予約ありがとうございます").findings == ()


def test_a_missing_or_broken_model_file_is_named_with_its_line(tmp_path):
    path = _rules_with_model(tmp_path)
    (tmp_path / "mock.json").unlink()
    with pytest.raises(RulesError) as info:
        load_rules(path, locale="en")
    [problem] = info.value.problems
    assert problem.line == 9 and problem.rule_id == "overboard.model"
    assert "model file mock.json not found" in str(problem)
    (tmp_path / "mock.json").write_text('{"version": 99}', encoding="utf-8")
    with pytest.raises(RulesError, match=r"cannot read model file mock\.json"):
        load_rules(path, locale="en")


def test_a_classifier_rule_takes_no_word_lists_and_needs_a_threshold_between_0_and_1():
    base = """
        - id: overboard.model
          category: overboard
          message: "x"
          classifier: {{model: "builtin:overboard", threshold: {t}}}
          {extra}
          examples: {{match: [a], no_match: [b]}}
        """
    with pytest.raises(RulesError, match="one kind"):
        load_rules_text(rules_yaml(base.format(t=0.5, extra="terms: [バカ]")))
    with pytest.raises(RulesError, match="do not apply"):
        load_rules_text(rules_yaml(base.format(t=0.5, extra="near: {terms: [x]}")))
    with pytest.raises(RulesError):
        load_rules_text(rules_yaml(base.format(t=1.5, extra="")))


def _guarded(tmp_path: Path, unless: str) -> Path:
    return _rules_with_model(
        tmp_path, unless=unless, no_match="@kai え、まだ登録してなかったんですか？笑（冗談です）"
    )


def test_an_unless_cue_near_the_flagged_sentence_cancels_a_classifier_finding(tmp_path):
    rs = load_rules(_guarded(tmp_path, "{terms: [冗談です, just kidding], within: 10}"))
    mocking = "え、まだ更新してなかったんですか？そこからですか笑"
    assert [f.rule_id for f in rs.review(f"@kai {mocking}").findings] == ["overboard.model"]
    # The cue is normalized like any term (full-width, case) and may sit just after the sentence.
    assert rs.review(f"@kai {mocking}（冗談です）").findings == ()
    assert rs.review(f"@kai {mocking} JUST KIDDING").findings == ()
    # Too far from the sentence the model points at: it does not speak for that sentence.
    far = (
        f"@kai {mocking}\nご連絡ありがとうございます。いつも本当にお世話になっております。冗談です"
    )
    assert [f.rule_id for f in rs.review(far).findings] == ["overboard.model"]


def test_a_classifier_rules_unless_patterns_load_and_a_bad_one_is_named_with_its_line(tmp_path):
    rs = load_rules(_guarded(tmp_path, "{patterns: ['冗談(です|だよ)'], within: 5}"))
    assert rs.review("@kai え、まだ登録してなかったんですか？笑 冗談だよ").findings == ()
    with pytest.raises(RulesError) as info:
        load_rules(_guarded(tmp_path, "{patterns: ['(?<=x)冗談'], within: 5}"), locale="en")
    [problem] = info.value.problems
    assert problem.rule_id == "overboard.model"
    lines = (tmp_path / "rules.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[problem.line - 1].strip().startswith("unless:")  # the line of the bad pattern


def test_editing_a_model_file_reruns_the_examples_even_when_the_rules_file_is_unchanged(tmp_path):
    path = _rules_with_model(tmp_path)
    cache = tmp_path / "cache"
    load_rules(path, cache_dir=cache)
    # A model that flags everything: the rules file is byte for byte the same, but its
    # no_match example now fails, so the remembered "examples passed" must not be used.
    (tmp_path / "mock.json").write_text(
        json.dumps(C.Model({}, bias=5.0).to_dict()), encoding="utf-8"
    )
    with pytest.raises(RulesError, match="no_match"):
        load_rules(path, cache_dir=cache, locale="en")


def test_rules_train_writes_a_model_the_rules_file_can_use(tmp_path):
    corpus = tmp_path / "drafts.jsonl"
    corpus.write_text(
        "\n".join(
            json.dumps(
                {"text": t, "categories": ["overboard"] if t in MOCKING else []}, ensure_ascii=False
            )
            for t in MOCKING + POLITE
        ),
        encoding="utf-8",
    )
    out = tmp_path / "mine.json"

    def train(category: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                *(sys.executable, "-m", "bot", "rules", "train", str(corpus)),
                *("--category", category, "-o", str(out), *extra),
            ],
            capture_output=True,
            text=True,
            env={"SOCIAL_REVIEW_LOCALE": "en", "PATH": ""},
            cwd=ROOT,
        )

    proc = train("overboard")
    assert proc.returncode == 0, proc.stderr
    assert "24 drafts (12 labeled)" in proc.stdout
    model = C.Model.from_dict(json.loads(out.read_text(encoding="utf-8")))
    assert model.meta["category"] == "overboard"
    cv = train("overboard", "--suggest-threshold")
    assert cv.returncode == 0, cv.stderr
    assert "suggested threshold 0." in cv.stdout and "at most 1% of clean drafts" in cv.stdout
    suggested = C.Model.from_dict(json.loads(out.read_text(encoding="utf-8"))).meta
    assert 0 < suggested["suggested_threshold"] < 1
    # Beside a rules file whose word rule already warns on every clean draft (they all say
    # ありがとうございます), the model adds no false alarm at any threshold: it may go to the bottom.
    word_rules = tmp_path / "rules.yaml"
    word_rules.write_text(
        rules_yaml("""
        - id: thanks
          category: format
          severity: warning
          message: "x"
          terms: [ありがとうございます]
          examples: {match: ["ありがとうございます"], no_match: ["どうも"]}
        """),
        encoding="utf-8",
    )
    beside = train("overboard", "--suggest-threshold", "--beside-rules", str(word_rules))
    assert beside.returncode == 0, beside.stderr
    assert "at most 1% more clean drafts than the rules already do" in beside.stdout
    lowest = C.Model.from_dict(json.loads(out.read_text(encoding="utf-8"))).meta
    assert lowest["suggested_threshold"] < suggested["suggested_threshold"]
    assert lowest["suggested_threshold"] == 0.0
    broken = train("overboard", "--suggest-threshold", "--beside-rules", str(tmp_path / "no.yaml"))
    assert broken.returncode == 2
    few = train("privacy")
    assert few.returncode == 2 and "only 0 drafts labeled privacy" in few.stderr


def test_a_suggested_threshold_keeps_clean_drafts_under_the_share_asked_for():
    texts = MOCKING + POLITE
    labels = [True] * len(MOCKING) + [False] * len(POLITE)
    threshold, recall = C.suggest_threshold(texts, labels, [not y for y in labels], folds=4)
    model = C.train(texts, labels)
    assert 0 < threshold < 1 and 0.5 <= recall <= 1
    assert sum(model.score(t) >= threshold for t in POLITE) <= 1


def test_cross_validation_by_file_never_splits_a_file_across_folds():
    groups = [0, 0, 1, 1, 1, 2, 3, 4, 5, 5, 6]
    fold = C.fold_of(len(groups), 5, groups)
    for g in set(groups):
        assert len({f for f, gg in zip(fold, groups, strict=True) if gg == g}) == 1
    assert set(fold) == {0, 1, 2, 3, 4}  # seven files spread over all five folds
    assert C.fold_of(7, 5) == [0, 1, 2, 3, 4, 0, 1]
    with pytest.raises(ValueError):
        C.fold_of(3, 5, [0, 1])


def test_a_threshold_judged_by_file_does_not_credit_words_only_that_file_uses():
    # Each "file" has its own telltale words, for mocking and for clean drafts alike. Shuffled
    # folds see every file's words in training and look perfect; folds by file score each file
    # with a model that never saw its words, as the next writer's drafts will be scored.
    texts, labels, groups = [], [], []
    pairs = [
        ("ぷぷっ", "わーい"),
        ("ざまぁ", "やった"),
        ("はぁ？", "うれしい"),
        ("あほくさ", "すてき"),
    ]
    pairs.append(("だっさ", "おいしい"))
    for g, (mocking, happy) in enumerate(pairs):
        for notice in POLITE[:8]:
            texts += [f"{mocking} {notice}", f"{happy} {notice}"]
            labels += [True, False]
            groups += [g, g]
    clean = [not y for y in labels]
    _, shuffled = C.suggest_threshold(texts, labels, clean, folds=5)
    _, by_file = C.suggest_threshold(texts, labels, clean, folds=5, groups=groups)
    assert shuffled >= 0.9
    assert by_file <= 0.5


def test_every_shipped_model_is_used_at_the_threshold_its_training_suggested():
    # rules.yaml says how its thresholds were chosen (`rules train --suggest-threshold
    # --beside-rules`); the suggestion is kept in each model file, so they must agree.
    shipped = load_rules(ROOT / "rules.yaml")
    used = {r.classifier.model: r.classifier.threshold for r in shipped.rules if r.classifier}
    assert sorted(used) == sorted(f"builtin:{c}" for c in SHIPPED)
    for category in SHIPPED:
        meta = json.loads(
            (ROOT / "bot" / "data" / "models" / f"{category}.json").read_text("utf-8")
        )["meta"]
        assert meta["threshold_folds"] == "by file"
        assert used[f"builtin:{category}"] == round(meta["suggested_threshold"], 2)


@pytest.mark.parametrize("category", SHIPPED)
def test_the_shipped_models_are_what_the_training_corpora_train(category):
    # The shipped model must be reproducible from the training corpora (never the hold-outs):
    # retrain with the same defaults and seed and compare.
    drafts = [
        d
        for name in TRAINING_CORPORA
        for d in parse_corpus((ROOT / "tests" / "corpus" / name).read_text("utf-8"), name)
    ]
    fresh = C.train([d.text for d in drafts], [category in d.categories for d in drafts])
    shipped = C.Model.from_dict(
        json.loads((ROOT / "bot" / "data" / "models" / f"{category}.json").read_text("utf-8"))
    )
    assert shipped.meta["corpora"] == list(TRAINING_CORPORA)
    assert set(shipped.weights) == set(fresh.weights)
    assert shipped.bias == pytest.approx(fresh.bias, abs=1e-5)
    assert max(abs(shipped.weights[g] - fresh.weights[g]) for g in fresh.weights) < 1e-4


@pytest.mark.parametrize("tables", [False, True])
def test_the_highest_scoring_sentence_is_the_one_each_models_own_margin_picks(tables):
    models = [
        C.Model.from_dict(json.loads((ROOT / "bot" / "data" / "models" / f"{c}.json").read_text()))
        for c in ("overboard", "competitor", "commitment")
    ]
    texts = [
        "いつもありがとうございます。",
        "え、まだ更新してなかったんですか？そこからですか笑",
        "Other brands? Let's just say we don't break.",
        "ご不便をおかけしました",
        "ご不便をおかけしました",  # a tie: the first one wins, as max() would pick
    ]
    keys = [base_key(t).text for t in texts]
    scorer = C.Scorer(models, warm_up=0 if tables else 10**9)
    if tables:
        scorer.build()
    expected = [max(range(len(texts)), key=lambda i, m=m: m.margin(texts[i])) for m in models]
    assert len(set(expected)) > 1  # the models disagree: each is asked on its own
    assert scorer.highest([0, 1, 2], keys) == expected
    assert scorer.highest([2, 0], keys) == [expected[2], expected[0]]
    assert scorer.highest([0, 1], keys[3:]) == [0, 0]
    # Scoring sentences neither spends the warm-up nor builds the tables.
    assert (scorer._np is None) == (not tables)
