"""Benchmark the rules engine against the timing targets; print a table, write bench/results/engine.json.

Usage (from the repository root):

    npm --prefix bench/textlint ci                 # once, for the textlint comparison
    .venv/bin/python bench/engine_bench.py         # full run, a few minutes on 2 cores
    .venv/bin/python bench/engine_bench.py --quick # smoke run, under 30 s

Targets (issue): default rules, 280-char drafts: p99 <= 1 ms per draft, `check --batch` >= 5,000
drafts/s whole process, `check` start-up <= 0.5 s with no Slack/SQL import; 2,000 synthetic
rules: p99 <= 5 ms per draft, load <= 2 s; textlint + prh >= 10x slower than us.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from engine_common import (
    REPO,
    RESULTS,
    WORK,
    machine_reference,
    met,
    social_review_command,
    summarize,
    table,
    time_reviews,
    timed,
    wall_clock,
)
from engine_drafts import Draft, hit_snippets, make_drafts, write_jsonl
from engine_synth import synthetic_rules

from bot.batch import default_jobs
from bot.config import rules_path_from_env
from bot.rules import RulesError, RuleSet, find_rules_file, load_rules
from bot.rules.evaluate import parse_corpus

FORBIDDEN = ("slack_sdk", "slack_bolt", "sqlalchemy")
RULE_COUNTS = (100, 500, 1000, 2000)


class Plan:
    """How much work each section does, for a full or a quick run."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.latency_drafts = 200 if quick else 1000
        self.latency_passes = 1 if quick else 2
        self.startup_runs = 2 if quick else 7
        # Large enough that start-up is a small part, as when an admin checks a year of posts.
        self.batch_drafts = 4000 if quick else 20_000
        self.batch_runs = 1 if quick else 3
        self.batch_synthetic = not quick
        self.rule_counts = (100, 2000) if quick else RULE_COUNTS
        self.synth_drafts = 100 if quick else 400
        self.synth_passes = 1
        self.load_runs = 1 if quick else 2
        self.length_reps = (
            {70: 30, 280: 30, 1000: 10, 10_000: 2}
            if quick
            else {70: 300, 280: 300, 1000: 60, 10_000: 6, 100_000: 2}
        )
        # textlint with a 3,000-term prh dictionary takes ~35 ms a draft: fewer drafts there.
        self.textlint_drafts = (
            # Enough drafts that start-up (Node's and ours) is not the whole story.
            {"default": 100} if quick else {"default": 3000, "synthetic-2000": 200}
        )
        self.textlint_runs = 1 if quick else 2
        self.textlint_passes = 1
        self.profile_drafts = 100 if quick else 300


# ---------------------------------------------------------------- helpers


def _engine_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted((REPO / "bot" / "rules").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def untimed_pass(ruleset: RuleSet, texts: Sequence[str]) -> tuple[list[bool], list[bool]]:
    """Return per text whether review() called into twitter-text, and whether a match rule hit.

    A profile hook watches for any call into the twitter_text package, so this keeps working
    however the X-length code is organised; it runs outside the timed loops.
    """
    metric_ids = {r.id for r in ruleset.rules if r.metric is not None}
    seen = [False]

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and "twitter_text" in frame.f_code.co_filename:
            seen[0] = True

    slow: list[bool] = []
    matched: list[bool] = []
    sys.setprofile(hook)
    try:
        for text in texts:
            seen[0] = False
            review = ruleset.review(text)
            slow.append(seen[0])
            matched.append(any(f.rule_id not in metric_ids for f in review.findings))
    finally:
        sys.setprofile(None)
    return slow, matched


def grouped(
    drafts: Sequence[Draft],
    samples: Sequence[Sequence[float]],
    groups: dict[str, Callable[[int], bool]],
) -> dict[str, dict[str, Any]]:
    """Summarize samples for every named group of draft indexes."""
    out = {}
    for name, keep in groups.items():
        values = [s for i, per in enumerate(samples) if keep(i) for s in per]
        out[name] = summarize(values) | {"drafts": sum(1 for i in range(len(drafts)) if keep(i))}
    return out


def latency_groups(
    drafts: Sequence[Draft], slow: Sequence[bool]
) -> dict[str, Callable[[int], bool]]:
    """Return the groups latency is reported for."""
    return {
        "all": lambda i: True,
        "no URL": lambda i: not drafts[i].has_url,
        "with URL": lambda i: drafts[i].has_url,
        "no URL, no emoji": lambda i: not drafts[i].has_url and not drafts[i].has_emoji,
        "no URL, emoji": lambda i: not drafts[i].has_url and drafts[i].has_emoji,
        "calls twitter-text": lambda i: slow[i],
        "no twitter-text call": lambda i: not slow[i],
        "with rule hits": lambda i: drafts[i].hits > 0,
    }


def profile_reviews(ruleset: RuleSet, texts: Sequence[str], top: int = 10) -> dict[str, Any]:
    """Profile ruleset.review over texts with cProfile; return hot spots and key functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    for text in texts:
        ruleset.review(text)
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())

    def name(key: tuple[str, int, str]) -> str:
        path, line, func = key
        short = path.split("site-packages/")[-1].replace(str(REPO) + "/", "")
        return f"{short}:{line}({func})" if line else func

    by_self = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    hot = [
        {
            "function": name(k),
            "calls": v[1],
            "self_ms": round(v[2] * 1e3, 1),
            "self_share": round(v[2] / total, 3),
            "cum_ms": round(v[3] * 1e3, 1),
        }
        for k, v in by_self
    ]
    review_cum = next((v[3] for k, v in raw.items() if k[2] == "review"), total) or total
    key_funcs = {}
    for k, v in sorted(raw.items(), key=lambda kv: kv[1][3], reverse=True):
        share = v[3] / review_cum
        if (
            k[2] != "review"
            and 0.03 <= share <= 1
            and ("bot/rules" in k[0] or "twitter_text" in k[0])
        ):
            key_funcs[name(k)] = {
                "cum_ms": round(v[3] * 1e3, 1),
                "share_of_review": round(share, 3),
            }
        if len(key_funcs) >= 10:
            break
    return {"drafts": len(texts), "hot_by_self_time": hot, "key_functions_cumulative": key_funcs}


def profile_load(path: Path, top: int = 10) -> dict[str, Any]:
    """Profile load_rules(path); return the engine and YAML functions by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    load_rules(path)
    profiler.disable()
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = max(v[3] for v in raw.values())
    rows = [
        {
            "function": f"{k[0].split('site-packages/')[-1].replace(str(REPO) + '/', '')}:{k[1]}({k[2]})",
            "cum_ms": round(v[3] * 1e3, 1),
            "share": round(v[3] / total, 3),
        }
        for k, v in raw.items()
        if ("bot/rules" in k[0] or "/yaml/" in k[0] or "pydantic" in k[0]) and v[3] / total >= 0.03
    ]
    rows.sort(key=lambda r: r["cum_ms"], reverse=True)
    return {"rules_file": str(path), "total_ms": round(total * 1e3, 1), "by_cumulative": rows[:top]}


# ---------------------------------------------------------------- sections


def section_latency(ruleset: RuleSet, plan: Plan) -> tuple[dict[str, Any], list[Draft]]:
    """Per-draft latency of the default rules on 280-char drafts, by kind of draft."""
    drafts = make_drafts(plan.latency_drafts, 280, hit_snippets(ruleset))
    texts = [d.text for d in drafts]
    slow, _ = untimed_pass(ruleset, texts)
    samples = time_reviews(ruleset, texts, passes=plan.latency_passes)
    groups = grouped(drafts, samples, latency_groups(drafts, slow))
    return {"draft_chars": 280, "passes": plan.latency_passes, "groups": groups}, drafts


def section_startup(rules_path: Path, plan: Plan) -> dict[str, Any]:
    """Start-up of `social-review check` on one short draft; imports on the check path."""
    WORK.mkdir(parents=True, exist_ok=True)
    plain = WORK / "startup-plain.txt"
    plain.write_text("今度コラボしませんか？\n", "utf-8")
    # A full-length draft with a link: short drafts skip the X-length count, long ones with a
    # URL or emoji import twitter-text (lazily) and so pay for it at start-up.
    linked = WORK / "startup-url.txt"
    linked.write_text(make_drafts(1, 280, [], url_rate=1.0, emoji_rate=1.0)[0].text, "utf-8")
    cmd = [*social_review_command(), "check", "--rules", str(rules_path)]
    # The first check after a rules edit runs every example and reads every pattern; later
    # ones reuse that from the cache folder. Warm it first, and time a cold start apart.
    wall_clock([*cmd, str(plain)], 1)
    cold = tempfile.mkdtemp(prefix="social-review-cold-")
    result: dict[str, Any] = {
        "python_baseline": wall_clock([sys.executable, "-c", "pass"], plan.startup_runs),
        "check_plain_draft": wall_clock([*cmd, str(plain)], plan.startup_runs),
        "check_url_emoji_draft": wall_clock([*cmd, str(linked)], plan.startup_runs),
        "check_first_after_edit": wall_clock(
            [*cmd, str(plain)],
            min(plan.startup_runs, 3),
            env_for_run=lambda i: {"SOCIAL_REVIEW_CACHE_DIR": f"{cold}/{i}"},
        ),
    }
    shutil.rmtree(cold, ignore_errors=True)
    # What the check path imports, from a real check in a fresh interpreter.
    probe = WORK / "startup-modules.json"
    code = (
        "import json, sys, contextlib, io\n"
        "from bot.cli import main\n"
        "with contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO(), encoding='utf-8')):\n"
        f"    main(['check', '--rules', {str(rules_path)!r}, {str(linked)!r}])\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        f"json.dump({{'forbidden_loaded': bad, 'modules': len(sys.modules),"
        f" 'twitter_text': 'twitter_text' in sys.modules}}, open({str(probe)!r}, 'w'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"import probe failed: {proc.stderr[-2000:]}")
    modules = json.loads(probe.read_text("utf-8"))
    assert not modules["forbidden_loaded"], f"check imported {modules['forbidden_loaded']}"
    result["modules_after_check"] = modules
    result["importtime"] = importtime_top(rules_path, plain)
    return result


def importtime_top(rules_path: Path, draft: Path, top: int = 8) -> dict[str, Any]:
    """Run `python -X importtime` on a check; return the slowest top-level imports."""
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "bot.cli",
            "check",
            "--rules",
            str(rules_path),
            str(draft),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    selfs = []
    names = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line.split("|")
        try:
            cumulative = int(parts[1])
        except ValueError:
            continue
        module = parts[2].rstrip()
        names.append(module.strip())
        selfs.append((module.strip(), int(parts[0].split(":")[1])))
        if not module.startswith("  ", 1):  # top-level imports only (one leading space)
            rows.append((module.strip(), cumulative))
    rows.sort(key=lambda r: r[1], reverse=True)
    found = sorted({n for n in names if n.split(".")[0] in FORBIDDEN})
    assert not found, f"-X importtime shows {found} on the check path"
    return {
        "top_level_ms": [
            {"module": m, "cumulative_ms": round(us / 1e3, 1)} for m, us in rows[:top]
        ],
        "top_self_ms": [
            {"module": m, "self_ms": round(us / 1e3, 1)}
            for m, us in sorted(selfs, key=lambda r: r[1], reverse=True)[:top]
        ],
        "forbidden_seen": found,
        "modules_imported": len(names),
    }


def corpus_drafts(n: int) -> list[Draft]:
    """Return n drafts cycled from the labeled corpora: real lengths (most under 100 chars)."""
    texts = [
        draft.text
        for path in sorted((REPO / "tests" / "corpus").glob("*.yaml"))
        for draft in parse_corpus(path.read_text("utf-8"), path.name)
    ]
    return [Draft(texts[i % len(texts)], False, False, 0) for i in range(n)]


def section_batch(
    rules_path: Path, ruleset: RuleSet, plan: Plan, label: str, realistic: bool = False
) -> dict[str, Any]:
    """Whole-process `check --batch` throughput on a JSONL file of 280-char drafts.

    Measured with the default (one process per CPU) and with --jobs 1 (one process).
    realistic: the drafts of the labeled corpora instead, at their real lengths.
    """
    if realistic:
        drafts = corpus_drafts(plan.batch_drafts)
    else:
        drafts = make_drafts(plan.batch_drafts, 280, hit_snippets(ruleset), seed=99)
    path = WORK / f"batch-{label}.jsonl"
    write_jsonl(path, drafts)
    cmd = [*social_review_command(), "check", "--rules", str(rules_path), "--batch", str(path)]
    wall_clock([*cmd[:-2], str(WORK / "startup-plain.txt")], 1)  # fill the rules cache first
    clock = wall_clock(cmd, plan.batch_runs)
    single = wall_clock([*cmd, "--jobs", "1"], plan.batch_runs)
    return {
        "drafts": len(drafts),
        "mean_chars": round(sum(len(d.text) for d in drafts) / len(drafts)),
        "cpus": default_jobs(),
        "wall": clock,
        "drafts_per_s": round(len(drafts) / clock["median_s"]),
        "wall_one_process": single,
        "drafts_per_s_one_process": round(len(drafts) / single["median_s"]),
    }


def section_rule_scaling(plan: Plan, work: Path) -> tuple[dict[str, Any], dict[int, Path]]:
    """Load time and per-draft latency for 100..2,000 synthetic rules."""
    data = synthetic_rules(max(RULE_COUNTS))
    rows = {}
    paths = {}
    for n in plan.rule_counts:
        path = work / f"synthetic-{n}.yaml"
        _write_subset(path, data, n)
        paths[n] = path
        loads = []
        ruleset: RuleSet | None = None
        for _ in range(plan.load_runs):
            ruleset, seconds = timed(lambda p=path: load_rules(p))
            loads.append(seconds)
        assert ruleset is not None
        drafts = make_drafts(plan.synth_drafts, 280, hit_snippets(ruleset), seed=n)
        texts = [d.text for d in drafts]
        slow, matched = untimed_pass(ruleset, texts)
        samples = time_reviews(ruleset, texts, passes=plan.synth_passes)
        groups = grouped(
            drafts,
            samples,
            {
                "all": lambda i: True,
                "no URL": lambda i, d=drafts: not d[i].has_url,
                "with URL": lambda i, d=drafts: d[i].has_url,
                "no twitter-text call": lambda i, s=slow: not s[i],
            },
        )
        rows[n] = {
            "rules": len(ruleset.rules),
            "examples": sum(
                len(r.examples.match) + len(r.examples.no_match) for r in ruleset.rules
            ),
            "file_kb": round(path.stat().st_size / 1024),
            "load_s": [round(s, 3) for s in loads],
            "load_median_s": round(sorted(loads)[len(loads) // 2], 3),
            "latency": groups,
            # Metric rules fire on every 280-char Japanese draft (CJK weighs 2): count matches only.
            "hit_rate": round(sum(matched) / len(texts), 2),
        }
    return rows, paths


def _write_subset(path: Path, data: dict[str, Any], n: int) -> None:

    subset = {**data, "rules": data["rules"][:n]}
    path.write_text(
        yaml.safe_dump(subset, allow_unicode=True, sort_keys=False, width=1000), "utf-8"
    )


def section_length_scaling(rulesets: dict[str, RuleSet], plan: Plan) -> list[dict[str, Any]]:
    """Per-draft time as drafts grow from 70 to 100,000 characters, plain and mixed."""
    rows = []
    for label, ruleset in rulesets.items():
        snippets = hit_snippets(ruleset)
        for variant, url_rate, emoji_rate in (("plain", 0.0, 0.0), ("URL+emoji", 1.0, 1.0)):
            for length, reps in plan.length_reps.items():
                drafts = make_drafts(
                    reps, length, snippets, seed=length, url_rate=url_rate, emoji_rate=emoji_rate
                )
                texts = [d.text for d in drafts]
                # Everything is warm by now; warming up on 100,000-char drafts only costs time.
                warmup = min(reps, 20) if length <= 1000 else 0
                samples = time_reviews(ruleset, texts, passes=1, warmup=warmup)
                s = summarize([x for per in samples for x in per])
                rows.append(
                    {
                        "rules": label,
                        "variant": variant,
                        "chars": length,
                        "drafts": reps,
                        **s,
                        "us_per_1k_chars": round(s["p50_us"] / length * 1000, 1),
                    }
                )
    return rows


# ---------------------------------------------------------------- report


def _lat_row(name: str, s: dict[str, Any]) -> list[Any]:
    return [
        name,
        s["drafts"],
        s["p50_us"] / 1e3,
        s["p90_us"] / 1e3,
        s["p99_us"] / 1e3,
        s["max_us"] / 1e3,
        s["mean_us"] / 1e3,
    ]


def render(results: dict[str, Any]) -> str:
    """Render every section as plain-text tables."""
    out = []
    meta = results["meta"]
    out.append(
        f"social-review engine benchmark ({meta['mode']}) {meta['started']}\n"
        f"python {meta['python']} on {meta['machine']}, {meta['cpus']} CPUs, "
        f"load average at start {meta['loadavg']}\n"
        f"machine reference (pure Python, {meta['reference']['workload']}): best "
        f"{meta['reference']['best_s']} s, median {meta['reference']['median_s']} s\n"
        f"default rules: {meta['rules_file']} ({meta['rules']} rules, sha256 {meta['rules_sha256']},"
        f" snapshot {meta['rules_snapshot']}); engine bot/rules sha256 {meta['engine_sha256']}"
    )
    lat_header = ["drafts", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms"]
    lat = results["latency"]["groups"]
    out.append(
        table(
            "Per-draft latency, default rules, 280-char drafts (in-process)",
            lat_header,
            [_lat_row(k, v) for k, v in lat.items()],
        )
    )
    st = results["startup"]
    out.append(
        table(
            "Start-up (wall clock, one draft, whole process)",
            ["command", "median s", "min s"],
            [
                [
                    "python -c pass",
                    st["python_baseline"]["median_s"],
                    st["python_baseline"]["min_s"],
                ],
                [
                    "check (plain draft)",
                    st["check_plain_draft"]["median_s"],
                    st["check_plain_draft"]["min_s"],
                ],
                [
                    "check (URL+emoji draft)",
                    st["check_url_emoji_draft"]["median_s"],
                    st["check_url_emoji_draft"]["min_s"],
                ],
                [
                    "check, first run after a rules edit (examples run)",
                    st["check_first_after_edit"]["median_s"],
                    st["check_first_after_edit"]["min_s"],
                ],
            ],
        )
    )
    imp = st["importtime"]
    out.append(
        "importtime, slowest top-level imports: "
        + ", ".join(f"{r['module']} {r['cumulative_ms']} ms" for r in imp["top_level_ms"])
        + "\nimporttime, slowest modules by self time: "
        + ", ".join(f"{r['module']} {r['self_ms']} ms" for r in imp["top_self_ms"])
        + f"\nslack_sdk/slack_bolt/sqlalchemy after a check: {st['modules_after_check']['forbidden_loaded'] or 'none'}"
        f" (importtime: {imp['forbidden_seen'] or 'none'}); twitter_text imported by a URL draft: "
        f"{st['modules_after_check']['twitter_text']}"
    )
    rows = []
    for label, b in results["batch"].items():
        rows.append(
            [
                label,
                b["drafts"],
                b.get("mean_chars", "-"),
                f"{b['cpus']} (default)",
                b["wall"]["median_s"],
                b["drafts_per_s"],
            ]
        )
        rows.append(
            [
                label,
                b["drafts"],
                b.get("mean_chars", "-"),
                "1 (--jobs 1)",
                b["wall_one_process"]["median_s"],
                b["drafts_per_s_one_process"],
            ]
        )
    out.append(
        table(
            "check --batch throughput (whole process, wall clock incl. start-up)",
            ["rules", "drafts", "mean chars", "processes", "median s", "drafts/s"],
            rows,
        )
    )
    rows = []
    for n, r in results["rule_scaling"].items():
        g = r["latency"]
        rows.append(
            [
                str(n),
                r["examples"],
                r["load_median_s"],
                g["all"]["p50_us"] / 1e3,
                g["all"]["p99_us"] / 1e3,
                g["no URL"]["p99_us"] / 1e3,
                g["with URL"]["p99_us"] / 1e3,
                g["no twitter-text call"]["p99_us"] / 1e3,
                r["hit_rate"],
            ]
        )
    out.append(
        table(
            "Rule-count scaling, synthetic rules, 280-char drafts",
            [
                "rules",
                "examples",
                "load s",
                "p50 ms",
                "p99 ms",
                "p99 no URL",
                "p99 URL",
                "p99 no twitter-text",
                "drafts hit",
            ],
            rows,
        )
    )
    out.append(
        table(
            "Draft-length scaling (in-process, per draft)",
            ["rules", "variant", "chars", "n", "p50 ms", "p99 ms", "µs per 1k chars"],
            [
                [
                    r["rules"],
                    r["variant"],
                    r["chars"],
                    r["drafts"],
                    r["p50_us"] / 1e3,
                    r["p99_us"] / 1e3,
                    r["us_per_1k_chars"],
                ]
                for r in results["length_scaling"]
            ],
        )
    )
    if results.get("textlint", {}).get("results"):
        from textlint_compare import render as render_textlint

        out.append(f"\ntextlint: {results['textlint']['version']}")
        out.append(render_textlint(results["textlint"]["results"]))
    elif results.get("textlint"):
        out.append(f"\ntextlint comparison skipped: {results['textlint'].get('skipped')}")
    for label, prof in results["profile"].items():
        out.append(
            table(
                f"Profile: {label} ({prof['drafts']} drafts, cProfile, self time)",
                ["function", "calls", "self ms", "share", "cum ms"],
                [
                    [h["function"], h["calls"], h["self_ms"], f"{h['self_share']:.0%}", h["cum_ms"]]
                    for h in prof["hot_by_self_time"]
                ],
            )
        )
        out.append(
            "  cumulative share of review(): "
            + ", ".join(
                f"{k.split('(')[-1].rstrip(')')} {v['share_of_review']:.0%}"
                for k, v in sorted(
                    prof["key_functions_cumulative"].items(),
                    key=lambda kv: kv[1]["share_of_review"],
                    reverse=True,
                )
            )
        )
    if results.get("profile_load"):
        pl = results["profile_load"]
        out.append(
            table(
                f"Profile: load_rules of {Path(pl['rules_file']).name} ({pl['total_ms']:.0f} ms under cProfile)",
                ["function", "cum ms", "share"],
                [[r["function"], r["cum_ms"], f"{r['share']:.0%}"] for r in pl["by_cumulative"]],
            )
        )
    out.append(
        table(
            "Targets",
            ["target", "limit", "measured", "met"],
            [[t["name"], t["limit"], t["measured"], t["met"]] for t in results["targets"]],
        )
    )
    return "\n".join(out)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Compare the measured figures with the issue's targets."""
    lat = results["latency"]["groups"]
    out = []

    def add(name: str, limit: str, measured: float, unit: str, ok: str) -> None:
        out.append({"name": name, "limit": limit, "measured": f"{measured:g} {unit}", "met": ok})

    p99 = lat["all"]["p99_us"] / 1e3
    add("p99 per draft, default rules, 280 chars", "<= 1 ms", round(p99, 2), "ms", met(p99, 1))
    for group in ("no URL", "with URL"):
        v = lat[group]["p99_us"] / 1e3
        add(f"  p99 ({group})", "<= 1 ms", round(v, 2), "ms", met(v, 1))
    rate = results["batch"]["default"]["drafts_per_s"]
    add(
        "check --batch throughput",
        ">= 5000 drafts/s",
        rate,
        "drafts/s",
        met(rate, 5000, at_least=True),
    )
    start = results["startup"]["check_plain_draft"]["median_s"]
    add("check start-up (plain draft)", "<= 0.5 s", start, "s", met(start, 0.5))
    start_url = results["startup"]["check_url_emoji_draft"]["median_s"]
    add("check start-up (URL draft)", "<= 0.5 s", start_url, "s", met(start_url, 0.5))
    forbidden = results["startup"]["modules_after_check"]["forbidden_loaded"]
    out.append(
        {
            "name": "no slack_sdk/slack_bolt/sqlalchemy on check",
            "limit": "none loaded",
            "measured": ", ".join(forbidden) or "none",
            "met": "yes" if not forbidden else "NO",
        }
    )
    big = results["rule_scaling"][max(results["rule_scaling"])]
    p99_big = big["latency"]["all"]["p99_us"] / 1e3
    add("p99 per draft, 2,000 rules", "<= 5 ms", round(p99_big, 2), "ms", met(p99_big, 5))
    add("load 2,000 rules", "<= 2 s", big["load_median_s"], "s", met(big["load_median_s"], 2))
    for r in results.get("textlint", {}).get("results", []):
        wp, ss = r["whole_process"], r["steady_state"]
        for name, value in (
            (f"textlint/ours, whole process (batch), {r['label']}", wp["ratio_batch"]),
            (
                f"textlint/ours, whole process (batch, 1 process), {r['label']}",
                wp["ratio_batch_one_process"],
            ),
            (f"textlint/ours, per draft mean, {r['label']}", ss["ratio_mean"]),
        ):
            add(name, ">= 10x", value, "x", met(value, 10, at_least=True))
    return out


# ---------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Run every section and write bench/results/engine.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small samples, under 30 s")
    parser.add_argument("--rules", help="default rules file (default: as `social-review check`)")
    parser.add_argument("--no-textlint", action="store_true", help="skip the textlint comparison")
    parser.add_argument("--output", type=Path, default=RESULTS / "engine.json")
    args = parser.parse_args(argv)
    plan = Plan(args.quick)
    began = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)

    source = find_rules_file(args.rules, rules_path_from_env(), cwd=REPO).resolve()
    # Measure one fixed file for the whole run, even if rules.yaml is edited meanwhile.
    rules_path = WORK / "default-rules.yaml"
    raw = source.read_bytes()
    rules_path.write_bytes(raw)
    try:
        ruleset, load_s = timed(lambda: load_rules(rules_path))
    except RulesError as exc:
        print(f"cannot load {source}:\n{exc}", file=sys.stderr)
        return 2

    results: dict[str, Any] = {
        "meta": {
            "mode": "quick" if args.quick else "full",
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "machine": f"{platform.system()} {platform.machine()}",
            "cpus": os.cpu_count(),
            "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "rules_file": str(source),
            "rules_sha256": hashlib.sha256(raw).hexdigest()[:16],
            "rules_snapshot": str(rules_path),
            # The engine is under active development: tie every run to the code it measured.
            "engine_sha256": _engine_hash(),
            "rules": len(ruleset.rules),
            "default_rules_load_s": round(load_s, 3),
            "reference": machine_reference(),
        }
    }

    def step(name: str) -> None:
        print(f"[{time.perf_counter() - began:5.1f}s] {name}…", file=sys.stderr, flush=True)

    step("latency")
    results["latency"], drafts = section_latency(ruleset, plan)
    step("start-up")
    results["startup"] = section_startup(rules_path, plan)
    step("batch throughput")
    results["batch"] = {"default": section_batch(rules_path, ruleset, plan, "default")}
    step("batch throughput, corpus drafts at their real length")
    results["batch"]["default, corpus drafts"] = section_batch(
        rules_path, ruleset, plan, "corpus", realistic=True
    )
    step("rule-count scaling")
    scaling, synth_paths = section_rule_scaling(plan, WORK)
    results["rule_scaling"] = scaling
    big_path = synth_paths[max(synth_paths)]
    big = load_rules(big_path)
    if plan.batch_synthetic:
        step("batch throughput, 2,000 rules")
        results["batch"]["synthetic-2000"] = section_batch(big_path, big, plan, "synthetic-2000")
    step("length scaling")
    results["length_scaling"] = section_length_scaling(
        {"default": ruleset, "synthetic-2000": big}, plan
    )

    if args.no_textlint:
        results["textlint"] = {"skipped": "--no-textlint"}
    else:
        from textlint_compare import compare, textlint_ready, textlint_version

        reason = textlint_ready()
        if reason:
            results["textlint"] = {"skipped": reason}
        else:
            step("textlint comparison")
            runs = {}
            sets = {"default": (rules_path, ruleset), "synthetic-2000": (big_path, big)}
            for label, count in plan.textlint_drafts.items():
                path, rs = sets[label]
                tl_drafts = make_drafts(count, 280, hit_snippets(rs), seed=7)
                runs[label] = compare(
                    label,
                    path,
                    rs,
                    tl_drafts,
                    runs=plan.textlint_runs,
                    passes=plan.textlint_passes,
                )
            results["textlint"] = {"version": textlint_version(), "results": list(runs.values())}

    step("profile")
    texts_url = [d.text for d in drafts if d.has_url][: plan.profile_drafts]
    texts_plain = [d.text for d in drafts if not d.has_url and not d.has_emoji][
        : plan.profile_drafts
    ]
    results["profile"] = {
        "default rules, drafts with URL": profile_reviews(ruleset, texts_url),
        "default rules, drafts without URL or emoji": profile_reviews(ruleset, texts_plain),
    }
    if not plan.quick:
        results["profile_load"] = profile_load(big_path)
    results["targets"] = targets(results)
    results["meta"]["elapsed_s"] = round(time.perf_counter() - began, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, ensure_ascii=False, indent=2), "utf-8")
    print(render(results))
    print(f"\nwrote {args.output} in {results['meta']['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
