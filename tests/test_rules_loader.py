"""A broken rules.yaml is refused with file:line and what is wrong — every problem at once."""

import json
from pathlib import Path

import pytest

from bot.rules import RulesError, load_rules, load_rules_text
from bot.rules.schema import json_schema

ROOT = Path(__file__).resolve().parent.parent

GOOD_RULE = """\
  - id: collaboration.proposal
    category: collaboration
    requires_approval: true
    message: "コラボは承認が必要です"
    terms: [コラボ]
    examples:
      match: ["コラボしませんか"]
      no_match: ["こんにちは"]
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(RulesError) as info:
        load_rules_text(text, "rules.yaml")
    return [str(p) for p in info.value.problems]


def test_the_shipped_rules_file_loads_and_every_example_passes():
    rs = load_rules(ROOT / "rules.yaml")
    assert len(rs.rules) >= 1


def test_the_packaged_copy_is_the_shipped_file():
    packaged = ROOT / "bot" / "data" / "rules.yaml"
    assert packaged.read_bytes() == (ROOT / "rules.yaml").read_bytes()


def test_unknown_keys_are_refused_with_their_line():
    text = "version: 1\nrules:\n" + GOOD_RULE + "    severty: error\n"
    assert problems_of(text) == [
        "rules.yaml:11: rule collaboration.proposal: 知らないキー `severty` です（綴りを確認してください）"
    ]


def test_every_problem_is_listed_not_just_the_first():
    text = (
        "version: 1\nlocale: en\nrules:\n"
        + GOOD_RULE
        + GOOD_RULE.replace("コラボしませんか", "タイアップ")  # duplicate id + failing example
        + """\
  - id: privacy.phone
    category: privacy
    message: "x"
    terms: []
    examples:
      match: ["a"]
      no_match: ["b"]
"""
    )
    found = problems_of(text)
    assert found == ["rules.yaml:23: rule privacy.phone: `terms` must not be empty"]
    # Structural problems come first; once the structure is right, the rest are all reported.
    fixed = text.replace("terms: []", "terms: [電話番号]").replace(
        'match: ["a"]', 'match: ["電話番号"]'
    )
    found = problems_of(fixed)
    assert "rules.yaml:12: rule collaboration.proposal: duplicate id (also on line 4)" in found
    assert len(found) == 1
    unique = fixed.replace(
        'id: collaboration.proposal\n    category: collaboration\n    requires_approval: true\n    message: "コラボは承認が必要です"\n    terms: [コラボ]\n    examples:\n      match: ["タイアップ"]',
        'id: collaboration.tieup\n    category: collaboration\n    requires_approval: true\n    message: "コラボは承認が必要です"\n    terms: [コラボ]\n    examples:\n      match: ["タイアップ"]',
    )
    found = problems_of(unique)
    assert found == [
        "rules.yaml:18: rule collaboration.tieup: does not flag its match example 「タイアップ」"
    ]


def test_several_structural_problems_are_reported_together():
    text = """\
version: 1
rules:
  - id: a.one
    category: overboard
    message: "x"
    terms: [バカ]
    severity: fatal
    examples:
      match: ["バカ"]
      no_match: ["ok"]
  - id: Bad Id
    category: overboard
    message: "x"
    examples:
      match: ["x"]
"""
    found = problems_of(text)
    assert any(p.startswith("rules.yaml:7: rule a.one: `severity`") for p in found)
    assert any(p.startswith("rules.yaml:11: rule Bad Id: `id`") for p in found)
    assert "rules.yaml:14: rule Bad Id: `examples.no_match` が必要です" in found
    assert len(found) == 3


def test_a_regex_that_re2_cannot_run_is_refused_with_a_hint():
    text = "version: 1\nlocale: en\nrules:\n" + GOOD_RULE.replace(
        "terms: [コラボ]", "terms: [コラボ]\n    patterns: ['(?<!社内)コラボ']"
    )
    (problem,) = problems_of(text)
    assert problem.startswith(
        "rules.yaml:9: rule collaboration.proposal: pattern `(?<!社内)コラボ`"
    )
    assert "not_preceded_by" in problem


def test_a_no_match_example_that_fires_is_refused_and_shows_where():
    text = "version: 1\nlocale: en\nrules:\n" + GOOD_RULE.replace('["こんにちは"]', '["ｺﾗﾎﾞです"]')
    assert problems_of(text) == [
        "rules.yaml:11: rule collaboration.proposal: flags its no_match example 「ｺﾗﾎﾞです」 (at ｺﾗﾎﾞ)"
    ]


def test_examples_are_required_on_both_sides():
    text = "version: 1\nlocale: en\nrules:\n" + GOOD_RULE.replace(
        '      no_match: ["こんにちは"]\n', ""
    )
    assert problems_of(text) == [
        "rules.yaml:9: rule collaboration.proposal: `examples.no_match` is required"
    ]


def test_duplicate_yaml_keys_are_refused_instead_of_silently_overwritten():
    text = "version: 1\nlocale: en\nrules:\n" + GOOD_RULE.replace(
        "    terms: [コラボ]\n", "    terms: [コラボ]\n    terms: [タイアップ]\n"
    )
    assert "rules.yaml:9: key `terms` appears twice in the same mapping" in problems_of(text)


def test_yaml_syntax_errors_point_at_the_line():
    (problem,) = problems_of("version: 1\nrules:\n  - id: [unclosed\n    category: x\n")
    assert problem.startswith("rules.yaml:")
    assert "YAML" in problem


def test_missing_file_and_bad_encoding_are_clear_errors(tmp_path):
    with pytest.raises(RulesError) as info:
        load_rules(tmp_path / "nope.yaml", locale="en")
    assert "cannot read the file" in str(info.value)
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"version: 1\nrules:\n  - id: \xff\n")
    with pytest.raises(RulesError) as info:
        load_rules(bad, locale="en")
    assert str(info.value).startswith(f"{bad}:3: not valid UTF-8")


def test_the_published_json_schema_matches_the_model():
    published = json.loads((ROOT / "docs" / "rules.schema.json").read_text(encoding="utf-8"))
    assert published == json_schema()


def test_the_shipped_file_validates_against_the_published_schema():
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    data = yaml.safe_load((ROOT / "rules.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(data, json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "colour": "red"}, json_schema())


def test_an_unquoted_number_or_yes_gets_a_hint_to_quote_it():
    text = "version: 1\nlocale: en\nrules:\n" + GOOD_RULE.replace(
        "terms: [コラボ]", "terms: [コラボ, 0120, on]"
    )
    found = problems_of(text)
    assert found == [
        'rules.yaml:8: rule collaboration.proposal: `terms` must be text; YAML reads 0120 as a number. Put it in quotes: "0120"',
        'rules.yaml:8: rule collaboration.proposal: `terms` must be text; YAML reads on as a boolean. Put it in quotes: "on"',
    ]


def test_check_remembers_a_file_whose_examples_passed_and_rechecks_any_edit(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\nrules:\n" + GOOD_RULE, encoding="utf-8")
    cache = tmp_path / "cache"
    load_rules(path, cache_dir=cache)
    assert len(list(cache.glob("examples-*.ok"))) == 1
    load_rules(path, cache_dir=cache)  # same bytes, same engine: remembered
    assert len(list(cache.glob("examples-*.ok"))) == 1
    # An edit that breaks an example is caught although the old file was remembered.
    path.write_text(
        "version: 1\nrules:\n" + GOOD_RULE.replace('["こんにちは"]', '["コラボ"]'), encoding="utf-8"
    )
    with pytest.raises(RulesError) as info:
        load_rules(path, cache_dir=cache, locale="en")
    assert "flags its no_match example" in str(info.value)


def test_the_shipped_file_carries_the_policies_every_feature_reads():
    rs = load_rules(ROOT / "rules.yaml")
    kinds = {k.kind for k in rs.model.follow.kinds}
    assert {"competitor", "customer", "political_religious", "unknown"} <= kinds
    assert rs.model.time.timezone == "Asia/Tokyo"
    assert [d.date for d in rs.model.time.sensitive_dates] == [
        "01-17",
        "03-11",
        "08-06",
        "08-09",
        "08-15",
    ]


def _pattern_rules_file(tmp_path):
    """Write a one-rule file whose rule is a pattern (the cache tests need one)."""
    rule = GOOD_RULE.replace(
        "terms: [コラボ]", "patterns: ['一緒に.{0,5}(しませんか|やりましょう)']"
    )
    rule = rule.replace('["コラボしませんか"]', '["一緒に何かしませんか"]')
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\nrules:\n" + rule, encoding="utf-8")
    return path


def test_pattern_literals_are_remembered_and_a_damaged_cache_changes_no_finding(tmp_path):
    path = _pattern_rules_file(tmp_path)
    cache = tmp_path / "cache"
    first = load_rules(path, cache_dir=cache)
    [saved] = cache.glob("triggers-*.json")
    assert json.loads(saved.read_text("utf-8")) == first.pattern_triggers
    assert next(iter(first.pattern_triggers.values())) == [
        ["しませんか", "やりましょう"],
        ["一緒に"],
    ]
    # A damaged cache file (entries of the wrong type) is not trusted: those are worked out again.
    saved.write_text(json.dumps(dict.fromkeys(first.pattern_triggers, 7)), "utf-8")
    again = load_rules(path, cache_dir=cache)
    assert again.pattern_triggers == first.pattern_triggers
    assert [f.rule_id for f in again.review("一緒に何かしませんか").findings] == [
        "collaboration.proposal"
    ]


def test_a_file_vouched_for_by_the_cache_compiles_its_patterns_only_when_drafts_need_them(
    tmp_path,
):
    path = _pattern_rules_file(tmp_path)
    cache = tmp_path / "cache"
    first = load_rules(path, cache_dir=cache)  # examples run: everything compiled up front
    assert all(p.compiled is not None for p in first._base._patterns)
    again = load_rules(path, cache_dir=cache)
    [pattern] = again._base._patterns
    assert pattern.compiled is None
    assert again.review("こんにちは").findings == ()  # no literal: the pattern never runs
    assert pattern.compiled is None
    assert [f.rule_id for f in again.review("一緒に何かしませんか").findings] == [
        "collaboration.proposal"
    ]
    assert pattern.compiled is not None


def test_a_vouched_file_skips_its_line_map_and_still_names_the_line_of_a_vanished_model(
    tmp_path, monkeypatch
):
    from bot.rules import loader

    path, model = _model_rules_file(tmp_path)
    cache = tmp_path / "cache"
    first = load_rules(path, cache_dir=cache)
    for snapshot in cache.glob("ruleset-*.pickle"):
        snapshot.unlink()  # this test is about the load that runs when there is none
    # Vouched for: the YAML line map is not built at all, and every draft gets the same review.
    monkeypatch.setattr(loader, "_walk", lambda *a: pytest.fail("line map built"))
    again = load_rules(path, cache_dir=cache)
    for text in ("一緒に何かしませんか", "こんにちは", "ばかばか", ""):
        assert again.review(text) == first.review(text)
    assert again.advice == []  # advice lines are for `rules check`, which always loads in full
    monkeypatch.undo()
    model.unlink()  # gone since it was vouched for: the full load reports it at its line
    with pytest.raises(RulesError) as info:
        load_rules(path, cache_dir=cache, locale="en")
    [problem] = info.value.problems
    assert (
        problem.line
        == path.read_text("utf-8")
        .splitlines()
        .index('    classifier: {model: "mine.json", threshold: 0.5}')
        + 1
    )


def _write_model(path, weight: float) -> None:
    """Write a one-feature model: "ば" weighs `weight` (0 flags nothing)."""
    model = {"version": 1, "bias": -3.0, "n_min": 1, "n_max": 3, "words": True}
    path.write_text(json.dumps({**model, "weights": {"ば": weight}}), encoding="utf-8")


def _model_rules_file(tmp_path):
    """Write a rules file with a pattern rule and a classifier rule reading mine.json."""
    model = tmp_path / "mine.json"
    _write_model(model, 50.0)
    path = _pattern_rules_file(tmp_path)
    path.write_text(
        path.read_text("utf-8")
        + """  - id: overboard.model
    category: overboard
    severity: warning
    message: "x"
    classifier: {model: "mine.json", threshold: 0.5}
    examples: {match: ["ばかばか"], no_match: ["こんにちは"]}
""",
        encoding="utf-8",
    )
    return path, model


DRAFTS = ("一緒に何かしませんか", "こんにちは", "ばかばか", "", "一緒にやりましょう ばか")


def test_a_second_check_of_the_same_file_reads_the_compiled_rules_from_the_cache(
    tmp_path, monkeypatch
):
    from bot.rules import loader

    path, _ = _model_rules_file(tmp_path)
    cache = tmp_path / "cache"
    first = load_rules(path, cache_dir=cache)
    [snapshot] = cache.glob("ruleset-*.pickle")
    assert snapshot.stat().st_mode & 0o077 == 0  # this user's alone
    # No YAML, no model JSON, no automaton: the whole load is the snapshot.
    monkeypatch.setattr(loader, "load_rules_text", lambda *a, **k: pytest.fail("loaded in full"))
    again = load_rules(path, cache_dir=cache)
    for text in DRAFTS:
        assert again.review(text) == first.review(text)
    assert again.review_many(list(DRAFTS)) == first.review_many(list(DRAFTS))
    assert again.model == first.model
    assert again.advice == []


def test_another_version_of_an_engine_library_does_not_reuse_the_cache(tmp_path, monkeypatch):
    from bot.rules import loader

    package = tmp_path / "site" / "fakelib"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("VERSION = '1.0'\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(loader, "_ENGINE_PACKAGES", (*loader._ENGINE_PACKAGES, "fakelib"))
    before = loader._fingerprint(b"version: 1")
    assert loader._fingerprint(b"version: 1") == before
    (package / "__init__.py").write_text("VERSION = '1.10'\n")  # an upgrade rewrites the file
    assert loader._fingerprint(b"version: 1") != before


def test_a_changed_model_file_is_read_again_not_taken_from_the_cache(tmp_path):
    path, model = _model_rules_file(tmp_path)
    cache = tmp_path / "cache"
    assert [
        f.rule_id
        for f in load_rules(path, cache_dir=cache, locale="en").review("ばかばか").findings
    ] == ["overboard.model"]
    # The rules file is the same bytes, but the model now scores nothing: it must be reread
    # (and since the examples no longer pass, the file is refused at the example's line).
    _write_model(model, 0.0)
    with pytest.raises(RulesError) as info:
        load_rules(path, cache_dir=cache, locale="en")
    [problem] = info.value.problems
    assert problem.rule_id == "overboard.model" and "ばかばか" in problem.message


def test_the_same_rules_in_another_folder_use_that_folders_model(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, _ = _model_rules_file(tmp_path / "a")
    (tmp_path / "b" / "rules.yaml").write_bytes(first.read_bytes())  # same bytes, same name
    _write_model(tmp_path / "b" / "mine.json", 0.0)  # beside a model of its own
    monkeypatch.chdir(tmp_path / "a")
    load_rules("rules.yaml", cache_dir=cache)
    monkeypatch.chdir(tmp_path / "b")
    # b's model flags nothing, so its example fails: b's model was really read.
    with pytest.raises(RulesError):
        load_rules("rules.yaml", cache_dir=cache)
    _write_model(tmp_path / "b" / "mine.json", 60.0)
    ruleset = load_rules("rules.yaml", cache_dir=cache)
    assert ruleset.model_files == (str((tmp_path / "b" / "mine.json").resolve()),)


@pytest.mark.parametrize("damage", ["garbage", "shared", "wrong type"])
def test_a_damaged_or_shared_cached_rule_set_is_ignored(tmp_path, damage):
    import os
    import pickle

    path, _ = _model_rules_file(tmp_path)
    (tmp_path / "planted").mkdir()
    cache = tmp_path / "cache"
    first = load_rules(path, cache_dir=cache)
    [snapshot] = cache.glob("ruleset-*.pickle")
    if damage == "garbage":
        snapshot.write_bytes(b"\x80\x05not a pickle")
    elif damage == "shared":
        # Anyone may write it: a planted rule set must not be trusted, whatever it holds.
        planted = load_rules(_pattern_rules_file(tmp_path / "planted"))  # one rule, no model
        snapshot.write_bytes(pickle.dumps(planted))
        os.chmod(snapshot, 0o666)
    else:
        snapshot.write_bytes(pickle.dumps({"not": "a rule set"}))
    again = load_rules(path, cache_dir=cache)
    for text in DRAFTS:
        assert again.review(text) == first.review(text)
    assert [r.id for r in again.rules] == [r.id for r in first.rules]


def test_a_large_batch_reuses_the_scorer_tables_an_earlier_batch_built(tmp_path, monkeypatch):
    from bot.rules import classifier

    path, model = _model_rules_file(tmp_path)
    cache = tmp_path / "cache"
    load_rules(path, cache_dir=cache)
    first = load_rules(path, cache_dir=cache)
    first.prepare_all()  # as `check --batch` does before forking: builds, then keeps them
    [kept] = cache.glob("tables-*.pickle")
    assert kept.stat().st_mode & 0o077 == 0
    monkeypatch.setattr(classifier.Scorer, "_build", lambda self: pytest.fail("built again"))
    again = load_rules(path, cache_dir=cache)
    again.prepare_all()
    assert again.review_many(list(DRAFTS)) == first.review_many(list(DRAFTS))
    monkeypatch.undo()
    # New model weights, new tables: kept tables never outlive the model they came from.
    _write_model(model, 60.0)
    third = load_rules(path, cache_dir=cache)
    built = []
    real_build = classifier.Scorer._build
    monkeypatch.setattr(classifier.Scorer, "_build", lambda self: built.append(real_build(self)))
    third.prepare_all()
    assert len(built) == 1
    assert len(list(cache.glob("tables-*.pickle"))) == 2


@pytest.mark.parametrize("damage", ["garbage", "shared", "other models"])
def test_damaged_shared_or_foreign_scorer_tables_are_rebuilt_not_used(
    tmp_path, monkeypatch, damage
):
    import os
    import pickle

    from bot.rules import classifier

    path, _ = _model_rules_file(tmp_path)
    cache = tmp_path / "cache"
    load_rules(path, cache_dir=cache)
    load_rules(path, cache_dir=cache).prepare_all()
    [kept] = cache.glob("tables-*.pickle")
    if damage == "garbage":
        kept.write_bytes(b"\x80\x05not a pickle")
    elif damage == "shared":
        os.chmod(kept, 0o666)
    else:  # tables of two models where this rule set has one
        two = classifier.Scorer([classifier.Model({"ば": 1.0}, 0.0)] * 2)
        kept.write_bytes(pickle.dumps(two.tables()))
    again = load_rules(path, cache_dir=cache)
    built = []
    real_build = classifier.Scorer._build

    def build(self):
        built.append(self)
        real_build(self)

    monkeypatch.setattr(classifier.Scorer, "_build", build)
    again.prepare_all()
    assert len(built) == 1
    assert again.review_many(list(DRAFTS)) == [again.review(t) for t in DRAFTS]
