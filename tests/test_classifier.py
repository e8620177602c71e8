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
from tests.rules_helpers import rules_yaml

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["overboard", "competitor", "commitment", "collaboration", "privacy"]
DEV = (
    "dev.yaml",
    "dev2.yaml",
    "dev3.yaml",
    "dev4.yaml",
    "dev5.yaml",
    "dev6.yaml",
    "dev7.yaml",
)  # never hold-outs

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


def _rules_with_model(tmp_path: Path, threshold: float = 0.5) -> Path:
    (tmp_path / "mock.json").write_text(json.dumps(_toy_model().to_dict()), encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(
        rules_yaml(
            f"""
            - id: overboard.model
              category: overboard
              confidence: medium
              message: "見下しに読めるかも（推定 {{score}}%）"
              classifier: {{model: mock.json, threshold: {threshold}}}
              examples:
                match: ["@kai え、まだ登録してなかったんですか？笑"]
                no_match: ["@kai ご連絡ありがとうございます"]
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
    with pytest.raises(RulesError):
        load_rules_text(rules_yaml(base.format(t=1.5, extra="")))


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
    few = train("privacy")
    assert few.returncode == 2 and "only 0 drafts labeled privacy" in few.stderr


def test_a_suggested_threshold_keeps_clean_drafts_under_the_share_asked_for():
    texts = MOCKING + POLITE
    labels = [True] * len(MOCKING) + [False] * len(POLITE)
    threshold, recall = C.suggest_threshold(texts, labels, [not y for y in labels], folds=4)
    model = C.train(texts, labels)
    assert 0 < threshold < 1 and 0.5 <= recall <= 1
    assert sum(model.score(t) >= threshold for t in POLITE) <= 1


def test_the_optional_privacy_model_can_be_switched_on_as_the_shipped_file_describes():
    # rules.yaml ships privacy.model commented out; uncommented, it must load and pass.
    text = (ROOT / "rules.yaml").read_text("utf-8")
    block = text[text.index("  # - id: privacy.model") :]
    rule = "\n".join(line.replace("  # ", "  ", 1) for line in block.splitlines() if line.strip())
    rs = load_rules_text(rules_yaml("") + rule, "rules.yaml")
    [only] = rs.rules
    assert only.id == "privacy.model" and only.classifier is not None
    assert [
        f.rule_id for f in rs.review("@yui よかったらLINE交換しませんか？個人的に").findings
    ] == ["privacy.model"]


@pytest.mark.parametrize("category", SHIPPED)
def test_the_shipped_models_are_what_the_dev_corpora_train(category):
    # The shipped model must be reproducible from the tuning corpora (never the hold-outs):
    # retrain with the same defaults and seed and compare.
    drafts = [
        d
        for name in DEV
        for d in parse_corpus((ROOT / "tests" / "corpus" / name).read_text("utf-8"), name)
    ]
    fresh = C.train([d.text for d in drafts], [category in d.categories for d in drafts])
    shipped = C.Model.from_dict(
        json.loads((ROOT / "bot" / "data" / "models" / f"{category}.json").read_text("utf-8"))
    )
    assert shipped.meta["corpora"] == list(DEV)
    assert set(shipped.weights) == set(fresh.weights)
    assert shipped.bias == pytest.approx(fresh.bias, abs=1e-5)
    assert max(abs(shipped.weights[g] - fresh.weights[g]) for g in fresh.weights) < 1e-4
