"""The `social-review` command line, run as a real process the way people run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rules_helpers import rules_yaml

ROOT = Path(__file__).resolve().parent.parent

RULES = rules_yaml(
    """
    - id: collaboration.proposal
      category: collaboration
      requires_approval: true
      guideline: G5
      message: {ja: "コラボは上長の承認が必要です(G5)", en: "Collaborations need a manager's approval (G5)"}
      terms: [コラボ, collab]
      evasion: true
      examples:
        match: ["コラボしませんか"]
        no_match: ["こんにちは"]
    - id: overboard.slang
      category: overboard
      message: {ja: "くだけすぎです(G2)", en: "Too casual (G2)"}
      replace: {ヤバい: すごい}
      examples:
        match: ["ヤバい"]
        no_match: ["すごい"]
    - id: privacy.phone
      category: privacy
      severity: error
      message: {ja: "個人の電話番号です(G4)", en: "A personal phone number (G4)"}
      patterns: ['0[789]0-?[0-9]{4}-?[0-9]{4}']
      examples:
        match: ["090-1234-5678"]
        no_match: ["0120-123-456"]
    """
)


def run(*args: str, stdin: bytes | str = b"", cwd: Path | None = None, env: dict | None = None):
    data = stdin.encode() if isinstance(stdin, str) else stdin
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIAL_REVIEW_")}
    full_env.update(env or {})
    full_env.setdefault("SOCIAL_REVIEW_CACHE_DIR", str(ROOT / ".pytest_cache" / "social-review"))
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=data,
        capture_output=True,
        cwd=cwd or ROOT,
        env=full_env,
        timeout=60,
    )
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


@pytest.fixture()
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


def test_check_reads_stdin_and_prints_linter_style_lines_with_a_summary(rules_file):
    code, out, _ = run(
        "check", "--rules", str(rules_file), stdin="こんにちは\n今度コラボしませんか？"
    )
    assert code == 1
    assert (
        "-:2:3: 注意: コラボは上長の承認が必要です(G5)  [collaboration.proposal] (承認が必要)"
        in out
    )
    assert "今度«コラボ»しませんか？" in out
    assert out.strip().endswith("1 件の下書き: OK 0 / 気になる点 0 / 承認が必要 1 / 修正が必要 0")


def test_json_offsets_point_into_the_original_text_even_for_disguised_words(rules_file):
    text = "今度 ｺﾗﾎﾞ しよう。コ・ラ・ボ！マジでヤバい"
    code, out, _ = run("check", "--rules", str(rules_file), "--format", "json", stdin=text)
    result = json.loads(out)
    assert code == 1
    assert result["id"] == "-"
    assert result["verdict"] == "approval"
    excerpts = [f["excerpt"] for f in result["findings"]]
    assert excerpts == ["ｺﾗﾎﾞ", "コ・ラ・ボ", "ヤバい"]
    for f in result["findings"]:
        assert text[f["start"] : f["end"]] == f["excerpt"]
    assert set(result["findings"][0]) == {
        "rule_id", "category", "severity", "requires_approval", "start", "end",
        "excerpt", "message", "suggestion", "guideline", "confidence",
    }  # fmt: skip
    assert result["findings"][2]["suggestion"] == "すごい"


def test_social_review_locale_switches_the_findings_messages_too(rules_file):
    # The rules file is `locale: ja`; the reader asked for English.
    code, out, _ = run(
        "check",
        "--rules",
        str(rules_file),
        "-",
        stdin="collab?",
        env={"SOCIAL_REVIEW_LOCALE": "en"},
    )
    assert code == 1
    assert "Collaborations need a manager's approval (G5)" in out
    _, out_ja, _ = run("check", "--rules", str(rules_file), "-", stdin="collab?")
    assert "コラボは上長の承認が必要です(G5)" in out_ja


def test_each_file_is_one_draft_and_exit_code_follows_the_worst_verdict(rules_file, tmp_path):
    ok = tmp_path / "ok.txt"
    ok.write_text("いつもありがとうございます！", encoding="utf-8")
    warn = tmp_path / "warn.txt"
    warn.write_text("これはヤバい", encoding="utf-8")
    block = tmp_path / "block.txt"
    block.write_text("私の番号は090-1234-5678です", encoding="utf-8")
    code, out, _ = run("check", "--rules", str(rules_file), "--format", "jsonl", str(ok), str(warn))
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(x["id"], x["verdict"]) for x in lines] == [(str(ok), "ok"), (str(warn), "warn")]
    code, out, _ = run("check", "--rules", str(rules_file), "--format", "json", str(ok), str(block))
    assert code == 1
    assert [x["verdict"] for x in json.loads(out)] == ["ok", "block"]


def test_exit_zero_reports_the_findings_but_fails_only_on_errors(rules_file, tmp_path):
    block = tmp_path / "block.txt"
    block.write_text("私の番号は090-1234-5678です", encoding="utf-8")
    code, out, _ = run(
        "check", "--exit-zero", "--rules", str(rules_file), "--format", "jsonl", str(block)
    )
    assert code == 0
    assert json.loads(out)["verdict"] == "block"
    missing = tmp_path / "missing.txt"
    code, _, _ = run("check", "--exit-zero", "--rules", str(rules_file), str(missing))
    assert code == 2
    code, _, _ = run("check", "--exit-zero", "--rules", str(tmp_path / "nope.yaml"), str(block))
    assert code == 2


def test_batch_writes_one_json_line_per_draft_in_order(rules_file, tmp_path):
    batch = tmp_path / "drafts.jsonl"
    batch.write_text(
        "\n".join(
            json.dumps({"id": i, "text": t}, ensure_ascii=False)
            for i, t in enumerate(["こんにちは", "collab?", "すごい"])
        ),
        encoding="utf-8",
    )
    code, out, _ = run("check", "--rules", str(rules_file), "--batch", str(batch))
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["id"], r["verdict"]) for r in rows] == [(0, "ok"), (1, "approval"), (2, "ok")]


def test_a_broken_batch_line_is_reported_in_place_and_the_rest_still_checked(rules_file, tmp_path):
    batch = tmp_path / "drafts.jsonl"
    batch.write_text(
        '{"id": "a", "text": "collab"}\nnot json\n{"id": "c"}\n{"id": "d", "text": "ok"}\n'
    )
    code, out, _ = run("check", "--rules", str(rules_file), "--batch", str(batch))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 2
    assert [r.get("verdict") or "error" for r in rows] == ["approval", "error", "error", "ok"]
    assert rows[1]["line"] == 2


def test_a_batch_line_with_a_lone_surrogate_is_reviewed_and_written_as_valid_json(
    rules_file, tmp_path
):
    # "\ud83d" alone is half an emoji, as a broken client may send, here in the draft and in
    # the id that is echoed back; the input lines are valid JSON, so the output must be too.
    batch = tmp_path / "drafts.jsonl"
    batch.write_text('{"id": "x\\ud83d", "text": "collab \\ud83d"}\n{"id": 2, "text": "ok"}\n')
    code, out, err = run("check", "--rules", str(rules_file), "--batch", str(batch))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1, err
    assert [r["verdict"] for r in rows] == ["approval", "ok"]
    assert rows[0]["id"] == "x\ud83d"
    assert rows[0]["findings"][0]["excerpt"] == "collab"


def test_a_large_batch_on_several_processes_gives_the_same_lines_in_the_same_order(
    rules_file, tmp_path
):
    from bot.batch import CHUNK_LINES, PARALLEL_MIN_LINES

    texts = ["こんにちは", "collab?", "ヤバい", "090-1234-5678", "ｺﾗﾎﾞ"]
    lines = [
        json.dumps({"id": i, "text": f"{texts[i % len(texts)]} #{i}"}, ensure_ascii=False)
        for i in range(PARALLEL_MIN_LINES + CHUNK_LINES + 7)
    ]
    lines[CHUNK_LINES + 3] = "not json"  # an error inside the second chunk stays in place
    batch = tmp_path / "big.jsonl"
    batch.write_text("\n".join(lines), encoding="utf-8")
    serial = run("check", "--rules", str(rules_file), "--batch", str(batch), "--jobs", "1")
    parallel = run("check", "--rules", str(rules_file), "--batch", str(batch), "--jobs", "3")
    assert serial[0] == parallel[0] == 2  # one unreadable line
    assert parallel[1] == serial[1]
    rows = [json.loads(line) for line in parallel[1].splitlines()]
    assert len(rows) == len(lines)
    assert rows[CHUNK_LINES + 3]["line"] == CHUNK_LINES + 4
    assert [r["id"] for r in rows if "error" not in r] == [
        i for i in range(len(lines)) if i != CHUNK_LINES + 3
    ]
    assert rows[1]["verdict"] == "approval" and rows[3]["verdict"] == "block"


def test_jobs_must_be_zero_or_positive(rules_file):
    code, _, err = run("check", "--rules", str(rules_file), "--batch", "-", "--jobs", "-2")
    assert code == 2
    assert "--jobs" in err


def test_invalid_utf8_missing_files_and_folders_are_clear_errors_not_tracebacks(
    rules_file, tmp_path
):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xe3\x81\x82\xff\xfe")
    code, _out, err = run(
        "check", "--rules", str(rules_file), str(bad), str(tmp_path / "nope.txt"), str(tmp_path)
    )
    assert code == 2
    assert f"{bad}: UTF-8 として読めません（3 バイト目 0xff）" in err
    assert "nope.txt: ファイルが見つかりません" in err
    assert "フォルダです" in err
    assert "Traceback" not in err


def test_a_utf16_file_from_windows_is_read(rules_file, tmp_path):
    draft = tmp_path / "win.txt"
    draft.write_bytes("コラボ".encode("utf-16"))
    _code, out, _ = run("check", "--rules", str(rules_file), "--format", "json", str(draft))
    assert json.loads(out)["verdict"] == "approval"


def test_a_huge_draft_gets_a_result(rules_file):
    text = ("長い下書きです。" * 12_500)[:100_000] + "コラボ"
    code, out, err = run("check", "--rules", str(rules_file), "--format", "json", stdin=text)
    assert code == 1, err
    assert json.loads(out)["findings"][0]["start"] == 100_000


def test_a_broken_rules_file_stops_check_with_file_and_line(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.replace("severity: error", "severity: fatal"), encoding="utf-8")
    code, _out, err = run("check", "--rules", str(path), stdin="x")
    assert code == 2
    assert err.startswith(f"{path}:24: rule privacy.phone: `severity`")


def test_rules_check_lists_every_problem_and_exits_2(tmp_path):
    path = tmp_path / "rules.yaml"
    broken = RULES.replace('no_match: ["こんにちは"]', 'no_match: ["collab"]').replace(
        'match: ["ヤバい"]', 'match: ["やばくない"]'
    )
    path.write_text(broken, encoding="utf-8")
    code, out, err = run("rules", "check", "--rules", str(path), env={"SOCIAL_REVIEW_LOCALE": "en"})
    assert code == 2
    assert out.splitlines() == [
        f"{path}:14: rule collaboration.proposal: flags its no_match example 「collab」 (at collab)",
        f"{path}:20: rule overboard.slang: does not flag its match example 「やばくない」",
    ]
    assert "2 problem(s)" in err


def test_rules_check_on_a_good_file_prints_one_summary_line(rules_file):
    code, out, _ = run("rules", "check", "--rules", str(rules_file))
    assert code == 0
    assert out.splitlines() == [f"{rules_file}: OK（ルール 3 件、例 6 件すべて期待どおり）"]


def test_rules_check_advises_on_a_pattern_that_would_run_on_almost_every_draft(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        rules_yaml(
            """
            - id: overboard.vague
              category: overboard
              message: {ja: "x", en: "x"}
              patterns: ['.*は.*ない', '使えない']
              examples: {match: [これは使えない], no_match: [こんにちは]}
            """,
            locale="en",
        ),
        encoding="utf-8",
    )
    code, out, _ = run("rules", "check", "--rules", str(path))
    assert code == 0
    [advice, summary] = out.splitlines()
    assert advice.startswith(f"{path}:8: rule overboard.vague: (advice) pattern `.*は.*ない`")
    assert "OK" in summary


def test_rules_file_lookup_prefers_flag_then_env_then_cwd_then_packaged(rules_file, tmp_path):
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    # From a folder with no rules.yaml, the packaged default rules are used.
    code, out, _ = run("rules", "check", cwd=elsewhere)
    assert code == 0 and "bot/data/rules.yaml" in out
    code, out, _ = run(
        "rules", "check", cwd=elsewhere, env={"SOCIAL_REVIEW_RULES": str(rules_file)}
    )
    assert out.startswith(str(rules_file))
    code, out, _ = run("rules", "check", cwd=tmp_path)
    assert out.startswith(str(tmp_path / "rules.yaml"))


def test_rules_eval_reports_precision_recall_misses_and_false_alarms(rules_file, tmp_path):
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text(
        """
- {id: a, text: "コラボしませんか", categories: [collaboration], approval: true}
- {id: b, text: "一緒に何かやりましょう", categories: [collaboration], approval: true}
- {id: c, text: "いつもありがとうございます", categories: []}
- {id: d, text: "これはヤバい", categories: []}
""",
        encoding="utf-8",
    )
    code, out, _ = run("rules", "eval", str(corpus), "--rules", str(rules_file), "--format", "json")
    assert code == 0
    result = json.loads(out)
    assert result["categories"]["collaboration"] == {
        "tp": 1, "fn": 1, "fp": 0, "precision": 1.0, "recall": 0.5,
    }  # fmt: skip
    assert result["clean"] == {"total": 2, "no_warning": 1, "rate": 0.5}
    assert [m["id"] for m in result["misses"]] == ["b", "b"]
    assert [f["id"] for f in result["false_alarms"]] == ["d"]
    code, out, _ = run("rules", "eval", str(corpus), "--rules", str(rules_file))
    assert "collaboration" in out and "50.0%" in out and "false alarms:" in out


def test_check_path_imports_no_slack_or_sql(rules_file):
    code = (
        f"import sys; from bot.cli import main; rc = main(['check', '--rules', {str(rules_file)!r}, '-']);"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('slack_sdk', 'slack_bolt', 'sqlalchemy', 'psycopg', 'apscheduler')];"
        "print('IMPORTED', bad)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], input=b"hello", capture_output=True, cwd=ROOT, timeout=60
    )
    assert proc.stdout.decode().strip().endswith("IMPORTED []")


def test_a_check_from_the_compiled_cache_imports_no_yaml_or_pydantic(rules_file, tmp_path):
    # Validation needs PyYAML and pydantic; a rule set read back from the cache needs neither,
    # and importing them was a third of every start-up.
    code = (
        f"import sys; from bot.cli import main; rc = main(['check', '--rules', {str(rules_file)!r}, '-']);"
        "print('IMPORTED', sorted({m.split('.')[0] for m in sys.modules} & {'yaml', 'pydantic'}))"
    )
    env = {**os.environ, "SOCIAL_REVIEW_CACHE_DIR": str(tmp_path / "cache")}

    def imported() -> str:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            input="今度コラボしませんか？".encode(),
            capture_output=True,
            cwd=ROOT,
            env=env,
            timeout=60,
        )
        assert "コラボ" in proc.stdout.decode()  # it did review the draft
        return proc.stdout.decode().strip().splitlines()[-1]

    assert imported() == "IMPORTED ['pydantic', 'yaml']"  # first run: the file is validated
    assert imported() == "IMPORTED []"


def test_usage_errors_exit_2():
    code, _, err = run("check", "--format", "xml")
    assert code == 2
    assert "invalid choice" in err


def test_a_batch_line_is_what_checking_that_draft_alone_prints(rules_file, tmp_path):
    drafts = ["collab?", "", "\u200bヤバい", "ｺﾗﾎﾞ 090-1234-5678", "ok"]
    lines = [json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in enumerate(drafts)]
    lines.insert(2, "[1, 2]")  # not a draft: its error stays between its neighbours
    batch = tmp_path / "drafts.jsonl"
    batch.write_text("\n".join(lines), encoding="utf-8")
    _, out, _ = run("check", "--rules", str(rules_file), "--batch", str(batch), "--jobs", "1")
    rows = [json.loads(line) for line in out.splitlines()]
    assert "error" in rows[2] and rows[2]["line"] == 3
    del rows[2]
    for i, (row, text) in enumerate(zip(rows, drafts, strict=True)):
        _, alone, _ = run("check", "--rules", str(rules_file), "--format", "jsonl", stdin=text)
        expected = json.loads(alone)
        expected["id"] = i
        assert row == expected
