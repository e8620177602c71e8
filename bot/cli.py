"""The `social-review` command line: check drafts, validate and measure rules, serve the Slack app."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from . import __version__, i18n
from .config import cache_dir_from_env, cli_locale_from_env, rules_path_from_env
from .rules import RulesError, RuleSet, find_rules_file, load_rules
from .rules.types import Finding, Review

EXIT_OK, EXIT_FLAGGED, EXIT_USAGE = 0, 1, 2

_TEXT: i18n.Catalog = {
    **i18n.VERDICTS,
    "info": {"ja": "参考", "en": "info"},
    "warning": {"ja": "注意", "en": "warning"},
    "error": {"ja": "要修正", "en": "error"},
    "suggest": {"ja": "言い換え案", "en": "Try"},
    "needs_approval": {"ja": "承認が必要", "en": "needs approval"},
    "summary": {
        "ja": "{n} 件の下書き: OK {ok} / 気になる点 {warn} / 承認が必要 {approval} / 修正が必要 {block}",
        "en": "{n} drafts: {ok} ok, {warn} warn, {approval} need approval, {block} need changes",
    },
    "not_found": {"ja": "{path}: ファイルが見つかりません", "en": "{path}: no such file"},
    "is_dir": {
        "ja": "{path}: フォルダです。下書きのファイルを指定してください",
        "en": "{path}: is a folder; give a draft file",
    },
    "unreadable": {"ja": "{path}: 読めません（{detail}）", "en": "{path}: cannot read ({detail})"},
    "not_utf8": {
        "ja": "{path}: UTF-8 として読めません（{offset} バイト目 0x{byte}）。UTF-8 で保存してください",
        "en": "{path}: not valid UTF-8 (byte 0x{byte} at offset {offset}); save it as UTF-8",
    },
    "batch_json": {
        "ja": "{line} 行目が JSON として読めません: {detail}",
        "en": "line {line} is not valid JSON: {detail}",
    },
    "batch_text": {
        "ja": '{line} 行目に文字列の "text" がありません',
        "en": 'line {line} has no string "text"',
    },
    "batch_and_files": {
        "ja": "--batch とファイルは同時に指定できません",
        "en": "give either --batch or draft files, not both",
    },
    "train_few": {
        "ja": "{category} の下書きが {n} 件しかありません。該当する下書き・しない下書きを10件以上ずつ用意してください",
        "en": "only {n} drafts labeled {category}; give at least 10 with it and 10 without",
    },
    "trained": {
        "ja": "{category}: 下書き {n} 件（該当 {positives} 件）で学習し、重み {weights} 個を {path} に書きました",
        "en": "{category}: trained on {n} drafts ({positives} labeled), {weights} weights written to {path}",
    },
    "threshold": {
        "ja": "推奨しきい値 {threshold}: 5分割の交差検証で、問題のない下書きの {share} 以下しか反応せず、該当する下書きの {recall} を捉えます",
        "en": "suggested threshold {threshold}: in 5-fold cross-validation it flags at most {share} of clean drafts and catches {recall} of labeled ones",
    },
    "threshold_beside": {
        "ja": "推奨しきい値 {threshold}: 5分割の交差検証で、ルールがすでに反応するものを除き、問題のない下書きへの反応は {share} 以下。該当する下書きの {recall} をモデル単独で捉えます",
        "en": "suggested threshold {threshold}: in 5-fold cross-validation it flags at most {share} more clean drafts than the rules already do and, on its own, catches {recall} of labeled ones",
    },
    "rules_ok": {
        "ja": "{path}: OK（ルール {rules} 件、例 {examples} 件すべて期待どおり）",
        "en": "{path}: OK ({rules} rules, all {examples} examples behave as written)",
    },
    "rules_bad": {
        "ja": "{path}: 問題が {n} 件あります。直すまでこのファイルは使えません",
        "en": "{path}: {n} problem(s); the file cannot be used until they are fixed",
    },
}


def _t(locale: str, key: str, **kw: Any) -> str:
    return i18n.text(_TEXT, locale, key, **kw)


# ------------------------------------------------------------------ input


class InputError(Exception):
    """A draft could not be read; the message is for the user."""


def _decode(raw: bytes, name: str, locale: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = f"{raw[exc.start]:02x}"
        raise InputError(_t(locale, "not_utf8", path=name, byte=byte, offset=exc.start)) from None


def _read_draft(name: str, locale: str) -> str:
    if name == "-":
        return _decode(sys.stdin.buffer.read(), "stdin", locale)
    return _decode(_read_bytes(name, locale), name, locale)


# ------------------------------------------------------------------ text output


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _context_line(text: str, f: Finding, color: bool) -> str:
    line_start = text.rfind("\n", 0, f.start) + 1
    line_end = text.find("\n", f.end)
    line_end = len(text) if line_end == -1 else line_end
    before = text[max(line_start, f.start - 30) : f.start]
    excerpt = text[f.start : min(f.end, f.start + 80)].replace("\n", "⏎")
    after = text[f.end : min(line_end, f.end + 30)]
    if f.start - 30 > line_start:
        before = "…" + before
    if min(line_end, f.end + 30) < line_end:
        after += "…"
    if color:
        mark = "\033[1;31m" if f.severity == "error" else "\033[1;33m"
        return f"    {before}{mark}{excerpt}\033[0m{after}"
    return f"    {before}«{excerpt}»{after}"


def _write_text(out: TextIO, name: str, review: Review, locale: str, color: bool) -> None:
    text = review.text
    verdict = _t(locale, review.verdict)
    out.write(f"{name}: {verdict}\n")
    for f in review.findings:
        line, col = _line_col(text, f.start)
        severity = _t(locale, f.severity)
        tail = f"  [{f.rule_id}]"
        if f.requires_approval:
            tail += f" ({_t(locale, 'needs_approval')})"
        out.write(f"{name}:{line}:{col}: {severity}: {f.message}{tail}\n")
        out.write(_context_line(text, f, color) + "\n")
        if f.suggestion:
            out.write(f"    {_t(locale, 'suggest')}: {f.suggestion}\n")


# ------------------------------------------------------------------ commands


def _load(args: argparse.Namespace, err: TextIO) -> tuple[RuleSet | None, str]:
    path = find_rules_file(args.rules, rules_path_from_env())
    forced = cli_locale_from_env()
    try:
        # `rules check` always runs every example; `check` may skip them for a file whose
        # examples already passed with this engine (same result, faster start).
        ruleset = load_rules(path, locale=forced, cache_dir=cache_dir_from_env())
    except RulesError as exc:
        for problem in exc.problems:
            err.write(f"{problem}\n")
        return None, forced or "ja"
    return ruleset, forced or ruleset.locale


def _cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    code = _check(args, out, err)
    # --exit-zero, as in ruff and flake8: findings are still reported; only errors fail.
    return EXIT_OK if args.exit_zero and code == EXIT_FLAGGED else code


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ruleset, locale = _load(args, err)
    if ruleset is None:
        return EXIT_USAGE
    if args.batch and args.files:
        err.write(_t(locale, "batch_and_files") + "\n")
        return EXIT_USAGE
    if args.batch:
        return _check_batch(ruleset, args.batch, args.jobs, out, err, locale)
    names = args.files or ["-"]
    verdicts: Counter[str] = Counter()
    results: list[dict[str, Any]] = []
    input_failed = False
    color = args.format == "text" and out.isatty()
    for name in names:
        try:
            text = _read_draft(name, locale)
        except InputError as exc:
            err.write(f"{exc}\n")
            input_failed = True
            continue
        review = ruleset.review(text)
        verdicts[review.verdict] += 1
        if args.format == "text":
            _write_text(out, name, review, locale, color)
        elif args.format == "jsonl":
            out.write(json.dumps(review.to_dict(name), ensure_ascii=False) + "\n")
        else:
            results.append(review.to_dict(name))
    if args.format == "json":
        payload: Any = results[0] if len(names) == 1 and results else results
        out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    if args.format == "text":
        counts = {k: verdicts.get(k, 0) for k in ("ok", "warn", "approval", "block")}
        out.write(_t(locale, "summary", n=sum(verdicts.values()), **counts) + "\n")
    if input_failed:
        return EXIT_USAGE
    return EXIT_FLAGGED if verdicts["block"] or verdicts["approval"] else EXIT_OK


def _check_batch(
    ruleset: RuleSet, name: str, jobs: int, out: TextIO, err: TextIO, locale: str
) -> int:
    try:
        raw = sys.stdin.buffer.read() if name == "-" else _read_bytes(name, locale)
        content = _decode(raw, name, locale)
    except InputError as exc:
        err.write(f"{exc}\n")
        return EXIT_USAGE
    from .batch import default_jobs, review_lines

    def error_text(kind: str, line: int, detail: str) -> str:
        return _t(locale, kind, line=line, detail=detail)

    jobs = jobs if jobs > 0 else default_jobs()
    flagged = bad = False
    for chunk in review_lines(ruleset, content.splitlines(), error_text, jobs):
        out.write(chunk.output)
        flagged = flagged or chunk.flagged
        bad = bad or chunk.bad
    if bad:
        return EXIT_USAGE
    return EXIT_FLAGGED if flagged else EXIT_OK


def _read_bytes(name: str, locale: str) -> bytes:
    path = Path(name)
    if path.is_dir():
        raise InputError(_t(locale, "is_dir", path=name))
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(_t(locale, "not_found", path=name)) from None
    except OSError as exc:
        raise InputError(_t(locale, "unreadable", path=name, detail=exc.strerror)) from None


def _cmd_rules_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    path = find_rules_file(args.rules, rules_path_from_env())
    forced = cli_locale_from_env()
    try:
        ruleset = load_rules(path, locale=forced)
    except RulesError as exc:
        for problem in exc.problems:
            out.write(f"{problem}\n")
        err.write(_t(forced or "ja", "rules_bad", path=path, n=len(exc.problems)) + "\n")
        return EXIT_USAGE
    examples = sum(len(r.examples.match) + len(r.examples.no_match) for r in ruleset.rules)
    locale = forced or ruleset.locale
    for advice in ruleset.advice:
        out.write(f"{advice}\n")
    out.write(_t(locale, "rules_ok", path=path, rules=len(ruleset.rules), examples=examples) + "\n")
    return EXIT_OK


def _cmd_rules_eval(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .rules.evaluate import CorpusError, evaluate, parse_corpus

    ruleset, locale = _load(args, err)
    if ruleset is None:
        return EXIT_USAGE
    try:
        content = _decode(_read_bytes(args.corpus, locale), args.corpus, locale)
        drafts = parse_corpus(content, args.corpus)
    except (InputError, CorpusError) as exc:
        err.write(f"{exc}\n")
        return EXIT_USAGE
    result = evaluate(ruleset, drafts)
    if args.format == "json":
        out.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return EXIT_OK
    out.write(f"{'category':<16}{'precision':>10}{'recall':>8}{'tp':>6}{'fn':>6}{'fp':>6}\n")
    for name, score in sorted(result.categories.items()):
        out.write(
            f"{name:<16}{score.precision:>10.1%}{score.recall:>8.1%}"
            f"{score.tp:>6}{score.fn:>6}{score.fp:>6}\n"
        )
    out.write(
        f"clean drafts with no warning: {result.clean_quiet}/{result.clean_total}"
        f" ({result.clean_rate:.1%})\n"
        f"approval routed: {result.approval_hit}/{result.approval_total}"
        f" ({result.approval_rate:.1%}); routed without need: {result.approval_false}\n"
    )
    if result.misses:
        out.write("\nmisses:\n")
        for miss in result.misses:
            out.write(f"  {miss['id']} [{miss['category']}] {miss['text']}\n")
    if result.false_alarms:
        out.write("\nfalse alarms:\n")
        for fa in result.false_alarms:
            out.write(
                f"  {fa['id']} [{fa['category']}] {','.join(fa['rules'])}"
                f" «{' / '.join(fa['excerpts'])}» {fa['text']}\n"
            )
    return EXIT_OK


CV_FOLDS = 5


def _flagged_by_word_rules(path: str, texts: list[str], err: TextIO) -> list[bool] | None:
    """Return, per draft, whether the file's rules other than classifiers warn on it."""
    from .rules.evaluate import flagged_categories

    try:
        ruleset = load_rules(path, locale=cli_locale_from_env())
    except RulesError as exc:
        for problem in exc.problems:
            err.write(f"{problem}\n")
        return None
    models = {r.id for r in ruleset.rules if r.classifier is not None}
    out = []
    for text in texts:
        review = ruleset.review(text)
        words = replace(
            review, findings=tuple(f for f in review.findings if f.rule_id not in models)
        )
        out.append(bool(flagged_categories(words)))
    return out


def _cmd_rules_train(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .rules import classifier
    from .rules.evaluate import CorpusError, parse_corpus

    locale = cli_locale_from_env() or "ja"
    drafts = []
    files: list[int] = []  # which corpus file each draft came from
    try:
        for k, name in enumerate(args.corpus):
            content = _decode(_read_bytes(name, locale), name, locale)
            parsed = parse_corpus(content, name)
            drafts.extend(parsed)
            files.extend([k] * len(parsed))
    except (InputError, CorpusError) as exc:
        err.write(f"{exc}\n")
        return EXIT_USAGE
    labels = [args.category in d.categories for d in drafts]
    positives = sum(labels)
    if positives < 10 or len(drafts) - positives < 10:
        err.write(_t(locale, "train_few", category=args.category, n=positives) + "\n")
        return EXIT_USAGE
    texts = [d.text for d in drafts]
    model = classifier.train(texts, labels, seed=args.seed)
    model.meta.update({"category": args.category, "corpora": [Path(n).name for n in args.corpus]})
    if args.suggest_threshold:
        clean = [not d.categories for d in drafts]
        # With enough files, folds keep each file whole: a threshold judged on writers the
        # model never read holds better for the next writer than one judged on shuffled drafts.
        by_file = len(args.corpus) >= CV_FOLDS
        already = None
        if args.beside_rules:
            # Clean drafts the file's word rules flag anyway cost nothing more: the share is
            # then what this model adds to the file's false alarms.
            already = _flagged_by_word_rules(args.beside_rules, texts, err)
            if already is None:
                return EXIT_USAGE
        threshold, recall = classifier.suggest_threshold(
            texts,
            labels,
            clean,
            max_clean_flagged=args.max_clean_flagged,
            folds=CV_FOLDS,
            seed=args.seed,
            groups=files if by_file else None,
            already_flagged=already,
        )
        model.meta["suggested_threshold"] = round(threshold, 4)
        model.meta["threshold_folds"] = "by file" if by_file else "by draft"
    data = json.dumps(model.to_dict(), ensure_ascii=False, sort_keys=True)
    try:
        Path(args.output).write_text(data + "\n", encoding="utf-8")
    except OSError as exc:
        err.write(_t(locale, "unreadable", path=args.output, detail=exc.strerror) + "\n")
        return EXIT_USAGE
    out.write(
        _t(
            locale,
            "trained",
            category=args.category,
            n=len(drafts),
            positives=positives,
            weights=len(model.weights),
            path=args.output,
        )
        + "\n"
    )
    if args.suggest_threshold:
        share = f"{args.max_clean_flagged * 100:g}%"  # 0.004 is "0.4%", not "0%"
        out.write(
            _t(
                locale,
                "threshold_beside" if args.beside_rules else "threshold",
                threshold=f"{threshold:.2f}",
                share=share,
                recall=f"{recall:.0%}",
            )
            + "\n"
        )
    return EXIT_OK


def _cmd_rules_schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .rules.schema import json_schema

    out.write(json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n")
    return EXIT_OK


def _cmd_rules_stats(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .app import rules_stats_command

    return rules_stats_command(args)


def _cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .app import serve_command

    return serve_command(args)


def _cmd_audit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .app import audit_command

    return audit_command(args)


def _cmd_report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .app import report_command

    return report_command(args)


def _jobs(value: str) -> int:
    """Parse --jobs: a whole number, 0 meaning one per CPU."""
    try:
        jobs = int(value)
    except ValueError:
        jobs = -1
    if jobs < 0:
        raise argparse.ArgumentTypeError(f"{value!r}: give 0 (one per CPU) or a positive number")
    return jobs


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="social-review",
        description="Review social-media drafts against your company's guidelines (rules.yaml).",
    )
    parser.add_argument("--version", action="version", version=f"social-review {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    rules_help = "rules file (default: $SOCIAL_REVIEW_RULES, ./rules.yaml, then the shipped one)"
    check = sub.add_parser("check", help="check drafts and print the findings")
    check.add_argument("files", nargs="*", metavar="FILE", help="one draft per file; - for stdin")
    check.add_argument("--rules", metavar="PATH", help=rules_help)
    check.add_argument("--format", choices=("text", "json", "jsonl"), default="text")
    check.add_argument("--batch", metavar="FILE.jsonl", help='lines of {"id": ..., "text": ...}')
    check.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when a draft needs approval or changes (errors still exit 2)",
    )
    check.add_argument(
        "--jobs",
        type=_jobs,
        default=0,
        metavar="N",
        help="processes for a large --batch (default: one per CPU; 1 = no extra processes)",
    )
    check.set_defaults(handler=_cmd_check)

    rules = sub.add_parser("rules", help="validate, measure or describe the rules file")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    rcheck = rules_sub.add_parser("check", help="validate the file and run every example")
    rcheck.add_argument("--rules", metavar="PATH", help=rules_help)
    rcheck.set_defaults(handler=_cmd_rules_check)
    reval = rules_sub.add_parser("eval", help="precision and recall on your labeled drafts")
    reval.add_argument("corpus", metavar="CORPUS", help="YAML list or JSONL of labeled drafts")
    reval.add_argument("--rules", metavar="PATH", help=rules_help)
    reval.add_argument("--format", choices=("text", "json"), default="text")
    reval.set_defaults(handler=_cmd_rules_eval)
    rtrain = rules_sub.add_parser(
        "train", help="train a classifier model for one category on your labeled drafts"
    )
    rtrain.add_argument("corpus", nargs="+", metavar="CORPUS", help="labeled drafts (YAML/JSONL)")
    rtrain.add_argument("--category", required=True, help="the category to learn, e.g. overboard")
    rtrain.add_argument("--output", "-o", required=True, metavar="FILE", help="model file (JSON)")
    rtrain.add_argument("--seed", type=int, default=0, help="random seed (same seed, same model)")
    rtrain.add_argument(
        "--suggest-threshold",
        action="store_true",
        help="also cross-validate (5-fold; by file when 5 or more corpus files are given) and "
        "suggest a threshold for the rule",
    )
    rtrain.add_argument(
        "--max-clean-flagged",
        type=float,
        default=0.01,
        metavar="SHARE",
        help="for --suggest-threshold: at most this share of clean drafts flagged (default 0.01)",
    )
    rtrain.add_argument(
        "--beside-rules",
        metavar="PATH",
        help="for --suggest-threshold: count only the clean drafts this rules file's word rules "
        "do not already flag",
    )
    rtrain.set_defaults(handler=_cmd_rules_train)
    rschema = rules_sub.add_parser("schema", help="print the JSON Schema of rules.yaml")
    rschema.set_defaults(handler=_cmd_rules_schema)
    rstats = rules_sub.add_parser("stats", help="hits and dismissals per rule (from the database)")
    rstats.add_argument("--format", choices=("text", "json"), default="text")
    rstats.set_defaults(handler=_cmd_rules_stats)

    audit = sub.add_parser("audit", help="export approval requests and decisions")
    audit.add_argument("--since", metavar="DATE", help="only events on or after DATE (YYYY-MM-DD)")
    audit.add_argument("--format", choices=("csv", "json"), default="csv")
    audit.set_defaults(handler=_cmd_audit)

    report = sub.add_parser("report", help="time per person against budget, findings by category")
    period = report.add_mutually_exclusive_group()
    period.add_argument("--week", dest="period", action="store_const", const="week")
    period.add_argument("--month", dest="period", action="store_const", const="month")
    report.set_defaults(period="week")
    report.add_argument("--format", choices=("csv", "json", "png"), default="csv")
    report.add_argument("--output", "-o", metavar="FILE", help="write here (required for png)")
    report.set_defaults(handler=_cmd_report)

    serve = sub.add_parser("serve", help="run the Slack app (Socket Mode, or --http)")
    serve.add_argument("--http", action="store_true", help="serve HTTP instead of Socket Mode")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(handler=_cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    for stream in (sys.stdout, sys.stderr):
        # Drafts are Japanese: never let a C locale turn output into a UnicodeEncodeError.
        if (getattr(stream, "encoding", "") or "").lower().replace("-", "") != "utf8":
            stream.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[union-attr]
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args, sys.stdout, sys.stderr))
    except BrokenPipeError:  # `social-review check … | head` is fine
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
