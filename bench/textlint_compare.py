"""Side-by-side benchmark of social-review against textlint + textlint-rule-prh on the same drafts.

Setup (once, pinned versions from bench/textlint/package-lock.json):

    npm --prefix bench/textlint ci

Run alone:  .venv/bin/python bench/textlint_compare.py [--quick] [--rules PATH]
(engine_bench.py runs the same comparison as one of its sections.)

The prh dictionary is generated from the rules file's literal `terms` and `replace` keys; textlint
therefore does strictly less work than we do (no patterns, allow lists, near/unless, evasion,
metrics), so the ratio is a lower bound on our advantage.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine_common import (
    BENCH,
    REPO,
    RESULTS,
    WORK,
    social_review_command,
    summarize,
    table,
    time_reviews,
    wall_clock,
)
from engine_drafts import Draft, hit_snippets, make_drafts, rule_terms, write_files, write_jsonl

from bot.config import rules_path_from_env
from bot.rules import RuleSet, find_rules_file, load_rules

TEXTLINT_DIR = BENCH / "textlint"
TEXTLINT_BIN = TEXTLINT_DIR / "node_modules" / ".bin" / "textlint"
SETUP_COMMAND = "npm --prefix bench/textlint ci"


def textlint_ready() -> str | None:
    """Return None if textlint can run, else the reason it cannot."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not TEXTLINT_BIN.exists():
        return f"textlint is not installed: run `{SETUP_COMMAND}`"
    return None


def textlint_version() -> str:
    """Return the installed textlint and textlint-rule-prh versions."""
    out = []
    for name in ("textlint", "textlint-rule-prh"):
        meta = TEXTLINT_DIR / "node_modules" / name / "package.json"
        out.append(f"{name}@{json.loads(meta.read_text())['version']}")
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return " ".join(out) + f" (node {node.stdout.strip()})"


def _prh_pattern(term: str) -> str:
    """Return term as a prh pattern that matches it literally.

    prh escapes `-` in string patterns and then compiles with the `u` flag, where `\\-` is a
    syntax error (`co-branded` breaks the whole dictionary); such terms become regex literals
    escaped the way the `u` flag accepts.
    """
    if term.isalnum() or all(c.isalnum() or c in " ・ー" for c in term):
        return term
    escaped = "".join("\\" + c if c in "\\^$.*+?()[]{}|/" else c for c in term)
    return f"/{escaped}/"


def write_textlint_setup(folder: Path, ruleset: RuleSet) -> tuple[Path, int]:
    """Write a prh dictionary from the rules' terms and a .textlintrc.json using it."""
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    entries = []
    for term, suggestion in rule_terms(ruleset):
        if term in seen:
            continue
        seen.add(term)
        # prh only reports text that differs from `expected`; a term to avoid gets a marker.
        expected = suggestion if suggestion and term not in suggestion else f"〓{len(seen)}〓"
        entries.append({"expected": expected, "pattern": _prh_pattern(term)})
    prh = folder / "prh.yml"
    # JSON is YAML: no quoting questions for terms with symbols.
    prh.write_text(json.dumps({"version": 1, "rules": entries}, ensure_ascii=False), "utf-8")
    config = folder / ".textlintrc.json"
    config.write_text(json.dumps({"rules": {"prh": {"rulePaths": [str(prh)]}}}), "utf-8")
    return config, len(entries)


def _textlint_steady(config: Path, texts: Sequence[str], passes: int, warmup: int) -> dict:
    payload = WORK / f"steady-{config.parent.name}.json"
    payload.write_text(
        json.dumps(
            {"config": str(config), "drafts": list(texts), "passes": passes, "warmup": warmup},
            ensure_ascii=False,
        ),
        "utf-8",
    )
    proc = subprocess.run(
        ["node", str(TEXTLINT_DIR / "steady.mjs"), str(payload)],
        cwd=TEXTLINT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"steady.mjs failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def _check_textlint_runs(textlint: Sequence[str], files: Sequence[Path]) -> None:
    """Fail loudly unless textlint really lints (a broken dictionary still exits 1 otherwise)."""
    proc = subprocess.run(
        [*textlint, *map(str, files)], cwd=TEXTLINT_DIR, capture_output=True, text=True, check=False
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        report = None
    if proc.returncode not in (0, 1) or not isinstance(report, list) or len(report) != len(files):
        raise RuntimeError(f"textlint did not lint: {(proc.stderr or proc.stdout)[-2000:]}")


def compare(
    label: str,
    rules_path: Path,
    ruleset: RuleSet,
    drafts: Sequence[Draft],
    *,
    runs: int,
    passes: int,
) -> dict[str, Any]:
    """Run both tools whole-process over the same files and per draft in-process; return figures."""
    folder = WORK / f"textlint-{label}"
    config, prh_rules = write_textlint_setup(folder, ruleset)
    files = write_files(folder / "drafts", drafts)
    batch = folder / "drafts.jsonl"
    write_jsonl(batch, drafts)
    ours = social_review_command()
    textlint = [str(TEXTLINT_BIN), "--config", str(config), "--format", "json"]
    n = len(drafts)

    _check_textlint_runs(textlint, files[:3])
    ours_files = wall_clock(
        [*ours, "check", "--rules", str(rules_path), "--format", "jsonl", *map(str, files)], runs
    )
    ours_batch = wall_clock(
        [*ours, "check", "--rules", str(rules_path), "--batch", str(batch)], runs
    )
    ours_batch_one = wall_clock(
        [*ours, "check", "--rules", str(rules_path), "--batch", str(batch), "--jobs", "1"], runs
    )
    theirs_files = wall_clock([*textlint, *map(str, files)], runs, cwd=TEXTLINT_DIR)

    texts = [d.text for d in drafts]
    ours_samples = [s for per in time_reviews(ruleset, texts, passes=passes) for s in per]
    ours_findings = sum(len(ruleset.review(t).findings) for t in texts)
    steady = _textlint_steady(config, texts, passes, warmup=min(200, n))
    ours_steady = summarize(ours_samples)
    theirs_steady = summarize(steady["times_us"])
    return {
        "label": label,
        "rules_file": str(rules_path),
        "rules": len(ruleset.rules),
        "prh_rules": prh_rules,
        "drafts": n,
        "draft_chars": round(sum(len(t) for t in texts) / n),
        "findings": {"ours": ours_findings, "textlint": steady["messages"]},
        "whole_process": {
            "ours_check_files": ours_files,
            "ours_check_batch": ours_batch,
            "textlint_files": theirs_files,
            "ratio_files": round(theirs_files["median_s"] / ours_files["median_s"], 2),
            "ratio_batch": round(theirs_files["median_s"] / ours_batch["median_s"], 2),
            "ours_check_batch_one_process": ours_batch_one,
            "ratio_batch_one_process": round(
                theirs_files["median_s"] / ours_batch_one["median_s"], 2
            ),
        },
        "steady_state": {
            "ours": ours_steady,
            "textlint": theirs_steady,
            "textlint_load_ms": round(steady["load_ms"], 1),
            "ratio_mean": round(theirs_steady["mean_us"] / ours_steady["mean_us"], 2),
            "ratio_p50": round(theirs_steady["p50_us"] / ours_steady["p50_us"], 2),
            "ratio_p99": round(theirs_steady["p99_us"] / ours_steady["p99_us"], 2),
        },
    }


def render(results: Sequence[dict[str, Any]]) -> str:
    """Render comparison results as tables."""
    whole = []
    steady = []
    for r in results:
        wp = r["whole_process"]
        n = r["drafts"]
        name = f"{r['label']} ({r['rules']} rules / {r['prh_rules']} prh)"
        whole.append(
            [
                name,
                n,
                wp["ours_check_files"]["median_s"],
                wp["ours_check_batch"]["median_s"],
                wp["textlint_files"]["median_s"],
                n / wp["textlint_files"]["median_s"],
                f"{wp['ratio_files']:.1f}x / {wp['ratio_batch']:.1f}x"
                f" / {wp['ratio_batch_one_process']:.1f}x",
            ]
        )
        st = r["steady_state"]
        steady.append(
            [
                name,
                st["ours"]["p50_us"],
                st["ours"]["p99_us"],
                st["textlint"]["p50_us"],
                st["textlint"]["p99_us"],
                f"{st['ratio_mean']:.1f}x",
                f"{st['ratio_p50']:.1f}x / {st['ratio_p99']:.1f}x",
                f"{r['findings']['ours']} / {r['findings']['textlint']}",
            ]
        )
    return "\n".join(
        [
            table(
                "textlint + prh vs social-review: whole process, same N drafts (wall clock, s)",
                [
                    "rules",
                    "N",
                    "ours files",
                    "ours batch",
                    "textlint files",
                    "textlint drafts/s",
                    "textlint÷ours files / batch / batch --jobs 1",
                ],
                whole,
            ),
            table(
                "textlint + prh vs social-review: per draft in-process, steady state (µs)",
                [
                    "rules",
                    "ours p50",
                    "ours p99",
                    "textlint p50",
                    "textlint p99",
                    "textlint÷ours mean",
                    "ratio p50 / p99",
                    "findings ours / textlint",
                ],
                steady,
            ),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison on the default rules and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer drafts and runs")
    parser.add_argument("--rules", help="rules file (default: as `social-review check`)")
    args = parser.parse_args(argv)
    reason = textlint_ready()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    rules_path = find_rules_file(args.rules, rules_path_from_env(), cwd=REPO)
    ruleset = load_rules(rules_path)
    n = 200 if args.quick else 1000
    drafts = make_drafts(n, 280, hit_snippets(ruleset))
    WORK.mkdir(parents=True, exist_ok=True)
    result = compare(
        "default",
        rules_path,
        ruleset,
        drafts,
        runs=1 if args.quick else 3,
        passes=1 if args.quick else 2,
    )
    print(f"textlint: {textlint_version()}")
    print(render([result]))
    out = RESULTS / "textlint.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
