"""Load rules.yaml: parse with line numbers, validate, compile, run every example, report every problem."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import i18n
from . import classifier
from .engine import PatternErrors, RuleSet

# PyYAML, pydantic and the schema are imported where a file is parsed and validated: a
# `check` whose rule set comes from the snapshot needs none of them (~0.15 s of a start-up).
if TYPE_CHECKING:
    import yaml
    from pydantic import ValidationError

    from .schema import Example, RulesFile


@cache
def _safe_loader() -> Any:
    """Return PyYAML's safe loader, the C one when PyYAML was built with it (much faster)."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


PACKAGED_RULES = Path(__file__).resolve().parent.parent / "data" / "rules.yaml"
# Models shipped with social-review, named in rules.yaml as `builtin:NAME`.
PACKAGED_MODELS = Path(__file__).resolve().parent.parent / "data" / "models"

_TEXT: dict[str, dict[str, str]] = {
    "unreadable": {
        "ja": "ファイルを読めません: {detail}",
        "en": "cannot read the file: {detail}",
    },
    "not_utf8": {
        "ja": "UTF-8 として読めません（{detail}）。UTF-8 で保存し直してください",
        "en": "not valid UTF-8 ({detail}); save the file as UTF-8",
    },
    "yaml": {"ja": "YAML の書き方に誤りがあります: {detail}", "en": "invalid YAML: {detail}"},
    "duplicate_key": {
        "ja": "キー `{name}` が同じ場所に2回あります",
        "en": "key `{name}` appears twice in the same mapping",
    },
    "top": {
        "ja": "ファイルの一番上は `version:` と `rules:` を持つマッピングにしてください",
        "en": "the top of the file must be a mapping with `version:` and `rules:`",
    },
    "duplicate_id": {
        "ja": "id が重複しています（{line} 行目と同じ）",
        "en": "duplicate id (also on line {line})",
    },
    "pattern": {
        "ja": "正規表現 `{pattern}` が使えません: {reason}",
        "en": "pattern `{pattern}` is not valid: {reason}",
    },
    "model_missing": {
        "ja": "モデルファイル {model} が見つかりません（rules.yaml からの相対パスか builtin:名前）",
        "en": "model file {model} not found (a path relative to rules.yaml, or builtin:NAME)",
    },
    "model_bad": {
        "ja": "モデルファイル {model} を読めません: {detail}（social-review rules train で作り直してください）",
        "en": "cannot read model file {model}: {detail} (make it again with social-review rules train)",
    },
    "slow": {
        "ja": "（参考）正規表現 `{pattern}` には目印になる語がなく、ほとんどの下書きで実行されます。2文字以上の決まった語を含めると速くなります",
        "en": "(advice) pattern `{pattern}` has no distinctive fixed word, so it runs on almost every draft; include a word of two or more letters to make it cheap",
    },
    "lookaround": {
        "ja": "（先読み・後読みは使えません。not_preceded_by / not_followed_by を使ってください）",
        "en": "(lookarounds are not supported; use not_preceded_by / not_followed_by)",
    },
    "example_missed": {
        "ja": "match の例 {example} に反応しませんでした",
        "en": "does not flag its match example {example}",
    },
    "example_flagged": {
        "ja": "no_match の例 {example} に反応してしまいました（{excerpt}）",
        "en": "flags its no_match example {example} (at {excerpt})",
    },
    "missing": {"ja": "`{field}` が必要です", "en": "`{field}` is required"},
    "extra_forbidden": {
        "ja": "知らないキー `{field}` です（綴りを確認してください）",
        "en": "unknown key `{field}` (check the spelling)",
    },
    "literal_error": {
        "ja": "`{field}` は {expected} のどれかにしてください",
        "en": "`{field}` must be one of {expected}",
    },
    "too_short": {"ja": "`{field}` が空です", "en": "`{field}` must not be empty"},
    "string_pattern_mismatch": {
        "ja": "`{field}` の形式が違います（{expected} の形）",
        "en": "`{field}` has the wrong form (expected {expected})",
    },
    "type": {
        "ja": "`{field}` の型が違います: {detail}",
        "en": "`{field}` has the wrong type: {detail}",
    },
    "quote": {
        "ja": '`{field}` は文字列にしてください。YAML は {value} を{kind}として読みます。"{value}" のように引用符で囲んでください',
        "en": '`{field}` must be text; YAML reads {value} as a {kind}. Put it in quotes: "{value}"',
    },
    "value": {"ja": "`{field}`: {detail}", "en": "`{field}`: {detail}"},
}


def _t(locale: str, key: str, **kw: Any) -> str:
    return i18n.text(_TEXT, locale, key, **kw)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a rules file, with the line it is on."""

    path: str
    line: int
    rule_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:"
        if self.rule_id:
            return f"{where} rule {self.rule_id}: {self.message}"
        return f"{where} {self.message}"


class RulesError(Exception):
    """The rules file cannot be used; carries every problem found, each with file:line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


# ---------------------------------------------------------------- YAML with line numbers


class _Lines:
    """Line numbers (1-based) of every node in the parsed YAML, by path of keys and indexes."""

    def __init__(self) -> None:
        self.by_path: dict[tuple[Any, ...], int] = {}
        self.scalars: dict[tuple[Any, ...], str] = {}
        self.duplicates: list[tuple[int, str]] = []

    def line(self, path: tuple[Any, ...]) -> int:
        """Return the line of the deepest known node along path."""
        for cut in range(len(path), -1, -1):
            found = self.by_path.get(tuple(path[:cut]))
            if found is not None:
                return found
        return 1


def _walk(node: yaml.Node, path: tuple[Any, ...], lines: _Lines) -> None:
    # By the node's kind name (scalar, mapping, sequence): no module lookup per node.
    lines.by_path.setdefault(path, node.start_mark.line + 1)
    if node.id == "scalar":
        lines.scalars[path] = node.value  # as written: 0120 stays 0120, not 120
    elif node.id == "mapping":
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                lines.duplicates.append((key_node.start_mark.line + 1, str(key)))
            seen.add(key)
            lines.by_path[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines)
            # point a scalar's errors at its key's line (same line in block style)
    elif node.id == "sequence":
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines)


def _parse(text: str, path: str, locale: str) -> tuple[Any, _Lines]:
    import yaml

    try:
        node = yaml.compose(text, Loader=_safe_loader())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        detail = f"{exc.problem or exc}"
        if exc.context:
            detail = f"{exc.context}, {detail}"
        raise RulesError([Problem(path, line, None, _t(locale, "yaml", detail=detail))]) from None
    except yaml.YAMLError as exc:
        raise RulesError([Problem(path, 1, None, _t(locale, "yaml", detail=str(exc)))]) from None
    lines = _Lines()
    if node is None:
        return None, lines
    _walk(node, (), lines)
    # Build the data from the nodes already parsed (parsing is most of the load time).
    data = _safe_loader()("").construct_document(node)
    return data, lines


# ---------------------------------------------------------------- validation


def _clean_loc(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the union-branch names pydantic puts in a location, keeping real keys and indexes."""
    clean: list[Any] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
            clean.append(part)
        elif (
            isinstance(node, dict)
            and isinstance(part, str)
            and not part[:1].isupper()
            and "[" not in part
            and part not in {"str", "int", "bool", "list", "dict"}
        ):
            # a key pydantic looked for and did not find (missing), or an unknown one
            clean.append(part)
            node = None
    return tuple(clean)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not isinstance(p, int)]
    if not parts:
        return ""
    if len(parts) > 1 and parts[-2] in {"examples", "metric", "near", "unless", "message"}:
        return ".".join(parts[-2:])
    return parts[-1]


def _pydantic_problems(
    exc: ValidationError, data: Any, lines: _Lines, path: str, locale: str
) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[Any, ...]] = set()
    for err in exc.errors(include_url=False):
        clean = _clean_loc(data, tuple(err["loc"]))
        if clean in seen:
            continue  # a union reports once per branch: the first says enough
        seen.add(clean)
        rule_id = _rule_id_at(data, clean)
        kind = err["type"]
        field = _field_name(clean) or "rules"
        ctx = err.get("ctx") or {}
        line = lines.line(clean)
        if kind == "missing":
            message = _t(locale, "missing", field=field)
            line = lines.line(clean[:-1])
        elif kind == "extra_forbidden":
            message = _t(locale, "extra_forbidden", field=field)
        elif kind == "literal_error":
            message = _t(locale, "literal_error", field=field, expected=ctx.get("expected", ""))
        elif kind in ("too_short", "string_too_short"):
            message = _t(locale, "too_short", field=field)
        elif kind == "string_pattern_mismatch":
            expected = ctx.get("pattern", "")
            message = _t(locale, "string_pattern_mismatch", field=field, expected=expected)
        elif kind == "string_type" and isinstance(err.get("input"), bool | int | float):
            value = err["input"]
            names = {"ja": ("真偽値", "数値"), "en": ("boolean", "number")}[locale]
            shown = lines.scalars.get(clean) or str(value)
            message = _t(
                locale,
                "quote",
                field=field,
                value=shown,
                kind=names[0] if isinstance(value, bool) else names[1],
            )
        elif kind.endswith("_type") or kind.endswith("_parsing"):
            message = _t(locale, "type", field=field, detail=err["msg"])
        else:
            detail = str(err["msg"]).removeprefix("Value error, ")
            message = _t(locale, "value", field=field, detail=detail)
        problems.append(Problem(path, line, rule_id, message))
    return problems


def _rule_id_at(data: Any, loc: tuple[Any, ...]) -> str | None:
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        try:
            rule = data["rules"][loc[1]]
        except (KeyError, IndexError, TypeError):
            return None
        if isinstance(rule, dict) and isinstance(rule.get("id"), str):
            return rule["id"]
        return f"#{loc[1] + 1}"
    return None


def _render(example: Example) -> str:
    return example if isinstance(example, str) else example.render()


def _show(example: Example) -> str:
    text = _render(example)
    short = text if len(text) <= 40 else text[:37] + "…"
    return f"「{short}」"


def _check_rules(model: RulesFile, lines: _Lines, path: str, locale: str) -> list[Problem]:
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for i, rule in enumerate(model.rules):
        line = lines.line(("rules", i, "id"))
        if rule.id in first_line:
            problems.append(
                Problem(path, line, rule.id, _t(locale, "duplicate_id", line=first_line[rule.id]))
            )
        else:
            first_line[rule.id] = line
    return problems


@dataclass
class _Models:
    """The trained models a rules file names, by rule index, and where they were read from."""

    by_rule: dict[int, classifier.Model]
    files: tuple[str, ...]  # in the order their bytes make up the digest
    digest: str


def _read_models(
    model: RulesFile, lines: _Lines, path: str, locale: str, base_dir: Path | None
) -> tuple[_Models, list[Problem]]:
    """Read every classifier rule's model file; return them with their digest, and problems."""
    models: dict[int, classifier.Model] = {}
    files: list[str] = []
    problems: list[Problem] = []
    digest = hashlib.sha256()
    for i, rule in enumerate(model.rules):
        if rule.classifier is None:
            continue
        name = rule.classifier.model
        if name.startswith("builtin:"):
            file = PACKAGED_MODELS / f"{name.removeprefix('builtin:')}.json"
        else:
            file = (base_dir or Path.cwd()) / name
        line = lines.line(("rules", i, "classifier", "model"))
        try:
            raw = file.read_bytes()
        except OSError:
            problems.append(Problem(path, line, rule.id, _t(locale, "model_missing", model=name)))
            continue
        try:
            models[i] = classifier.Model.from_dict(json.loads(raw.decode("utf-8")))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            detail = str(exc) or type(exc).__name__
            problems.append(
                Problem(path, line, rule.id, _t(locale, "model_bad", model=name, detail=detail))
            )
            continue
        digest.update(raw)
        files.append(str(file.resolve()))
    return _Models(models, tuple(files), digest.hexdigest()[:16] if models else ""), problems


def _pattern_problems(
    exc: PatternErrors, lines: _Lines, path: str, locale: str, model: RulesFile
) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors:
        reason = err.reason
        if "(?<" in err.pattern or "(?=" in err.pattern or "(?!" in err.pattern:
            reason += " " + _t(locale, "lookaround")
        line = lines.line(("rules", err.rule_index, *err.where))
        rule_id = model.rules[err.rule_index].id
        message = _t(locale, "pattern", pattern=err.pattern, reason=reason)
        problems.append(Problem(path, line, rule_id, message))
    return problems


def _check_examples(ruleset: RuleSet, lines: _Lines, path: str, locale: str) -> list[Problem]:
    problems: list[Problem] = []
    for i, rule in enumerate(ruleset.model.rules):
        for kind in ("match", "no_match"):
            for j, example in enumerate(getattr(rule.examples, kind)):
                found = ruleset.rule_findings(_render(example), rule.id)
                line = lines.line(("rules", i, "examples", kind, j))
                if kind == "match" and not found:
                    message = _t(locale, "example_missed", example=_show(example))
                    problems.append(Problem(path, line, rule.id, message))
                elif kind == "no_match" and found:
                    message = _t(
                        locale, "example_flagged", example=_show(example), excerpt=found[0].excerpt
                    )
                    problems.append(Problem(path, line, rule.id, message))
    return problems


def _guess_locale(data: Any) -> str:
    if isinstance(data, dict) and data.get("locale") in ("ja", "en"):
        return str(data["locale"])
    return "ja"


def load_rules_text(
    text: str,
    path: str = "rules.yaml",
    locale: str | None = None,
    examples_verified: Callable[[str], bool] | None = None,
    known_triggers: Mapping[str, list[list[str]] | None] | None = None,
    base_dir: Path | None = None,
) -> RuleSet:
    """Validate and compile rules from YAML text; raise RulesError listing every problem.

    examples_verified, if given and true, says this exact text already passed its examples with
    this exact engine, so running them again is skipped; it is given a digest of the
    classifier models the file names, which are part of "the same file". known_triggers is a
    RuleSet's pattern_triggers from an earlier load of the same file (a cache, never required).
    Model paths are relative to base_dir (default: the current folder).
    """
    from pydantic import ValidationError

    from .schema import RulesFile

    if examples_verified is not None:
        vouched = _load_vouched(text, path, locale, examples_verified, known_triggers, base_dir)
        if vouched is not None:
            return vouched
    data, lines = _parse(text, path, locale or "ja")
    loc = locale or _guess_locale(data)
    problems = [
        Problem(path, line, None, _t(loc, "duplicate_key", name=key))
        for line, key in lines.duplicates
    ]
    if not isinstance(data, dict):
        raise RulesError([*problems, Problem(path, lines.line(()), None, _t(loc, "top"))])
    try:
        model = RulesFile.model_validate(data)
    except ValidationError as exc:
        problems += _pydantic_problems(exc, data, lines, path, loc)
        raise RulesError(sorted(problems, key=lambda p: p.line)) from None
    problems += _check_rules(model, lines, path, loc)
    models, model_problems = _read_models(model, lines, path, loc, base_dir)
    problems += model_problems
    if problems:
        raise RulesError(sorted(problems, key=lambda p: p.line))
    try:
        ruleset = _compile(model, path, known_triggers, models, locale, defer=False)
    except PatternErrors as exc:
        problems += _pattern_problems(exc, lines, path, loc, model)
        raise RulesError(sorted(problems, key=lambda p: p.line)) from None
    ruleset.advice = [
        Problem(
            path, lines.line(("rules", i, *where)), model.rules[i].id, _t(loc, "slow", pattern=p)
        )
        for i, where, p in ruleset.unfiltered_patterns()
    ]
    problems += _check_examples(ruleset, lines, path, loc)
    if problems:
        raise RulesError(sorted(problems, key=lambda p: p.line))
    return ruleset


def _load_vouched(
    text: str,
    path: str,
    locale: str | None,
    examples_verified: Callable[[str], bool],
    known_triggers: Mapping[str, list[list[str]] | None] | None,
    base_dir: Path | None,
) -> RuleSet | None:
    """Load a file vouched for by the cache without its line map, or None to do it in full.

    These exact bytes passed every check and example with this engine before, so nothing here
    can need a line number; the YAML line map (a third of a `check` start-up) is skipped.
    Anything unexpected (a model file gone or changed since) returns None: the full load
    then reports it at its line. `advice` stays empty: `rules check` always loads in full.
    """
    import yaml
    from pydantic import ValidationError

    try:
        model = _model_of(text)
    except (yaml.YAMLError, ValidationError):
        return None
    loc = locale or model.locale
    models, problems = _read_models(model, _Lines(), path, loc, base_dir)
    if problems or not examples_verified(models.digest):
        return None
    try:
        # Every pattern compiled before, so each is compiled when a draft first needs it.
        return _compile(model, path, known_triggers, models, locale, defer=True)
    except PatternErrors:
        return None


def _compile(
    model: RulesFile,
    path: str,
    known_triggers: Mapping[str, list[list[str]] | None] | None,
    models: _Models,
    locale: str | None,
    *,
    defer: bool,
) -> RuleSet:
    """Build the rule set of a validated file whose models were read."""
    ruleset = RuleSet(
        model,
        source=path,
        known_triggers=known_triggers,
        classifiers=models.by_rule,
        defer_patterns=defer,
        locale=locale,
    )
    ruleset.models_digest = models.digest
    ruleset.model_files = models.files
    return ruleset


def load_rules(
    path: str | Path, locale: str | None = None, cache_dir: Path | None = None
) -> RuleSet:
    """Load, validate and compile a rules file; raise RulesError listing every problem.

    With cache_dir, a file whose examples already passed (same bytes, same engine) skips
    running them again: the result is the same, and `check` starts faster.
    """
    shown = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        loc = locale or "ja"
        raise RulesError(
            [Problem(shown, 1, None, _t(loc, "unreadable", detail=exc.strerror or str(exc)))]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        detail = f"byte 0x{raw[exc.start]:02x}"
        raise RulesError(
            [Problem(shown, line, None, _t(locale or "ja", "not_utf8", detail=detail))]
        ) from None
    base_dir = Path(path).parent
    if cache_dir is None:
        return load_rules_text(text, shown, locale, base_dir=base_dir)
    fingerprint = _fingerprint(raw)
    snapshot = cache_dir / f"ruleset-{_snapshot_key(fingerprint, shown, base_dir, locale)}.pickle"
    ruleset = _read_snapshot(snapshot)
    if ruleset is not None:
        ruleset.model_factory = partial(_model_of, text)
        ruleset.tables_store = _TablesFile(snapshot, ruleset.models_digest)
        return ruleset
    saved = cache_dir / f"triggers-{fingerprint}.json"
    known = _read_json(saved)

    def marker(models_digest: str) -> Path:
        return cache_dir / f"examples-{fingerprint}{models_digest}.ok"

    ruleset = load_rules_text(
        text,
        shown,
        locale,
        examples_verified=lambda digest: marker(digest).is_file(),
        known_triggers=known,
        base_dir=base_dir,
    )
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        marker(ruleset.models_digest).touch()
        if known != ruleset.pattern_triggers:
            temporary = saved.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(ruleset.pattern_triggers, ensure_ascii=False), "utf-8")
            temporary.replace(saved)  # atomic: a parallel start never reads half a file
            _prune(cache_dir, "triggers-*.json")
            _prune(cache_dir, "examples-*.ok")
        _write_private(snapshot, ruleset)
        _prune(cache_dir, "ruleset-*.pickle")
    except OSError:
        pass  # a read-only home is fine: the work is just done again next time
    ruleset.tables_store = _TablesFile(snapshot, ruleset.models_digest)
    return ruleset


# The compiled rule set of a file that passed, pickled: the next `check` of the same bytes
# with the same engine loads it instead of parsing YAML, reading the model files' JSON and
# building the automata (about two thirds of a start-up). Like Python's own __pycache__, it
# is trusted because it lives in the user's cache folder: a file another user owns, or one
# others may write to, is ignored. Anything unexpected falls back to the full load.
_SNAPSHOT_ERRORS = (
    OSError,
    EOFError,
    pickle.UnpicklingError,
    AttributeError,
    ImportError,
    IndexError,
    KeyError,
    TypeError,
    ValueError,
)


def _snapshot_key(fingerprint: str, shown: str, base_dir: Path, locale: str | None) -> str:
    """Name a snapshot: the same bytes elsewhere may read other model files, say other paths."""
    where = f"{fingerprint}\0{shown}\0{base_dir.resolve()}\0{locale or ''}"
    return hashlib.sha256(where.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _read_private(path: Path) -> object | None:
    """Unpickle a file of the cache folder if this user owns it and only they may write it."""
    try:
        info = path.stat()
        getuid = getattr(os, "getuid", None)
        if (getuid is not None and info.st_uid != getuid()) or info.st_mode & 0o022:
            return None
        return pickle.loads(path.read_bytes())
    except _SNAPSHOT_ERRORS:
        return None


def _read_snapshot(path: Path) -> RuleSet | None:
    """Return the rule set an earlier load of the same file pickled at path, or None."""
    ruleset = _read_private(path)
    if not isinstance(ruleset, RuleSet) or _files_digest(ruleset.model_files) != (
        ruleset.models_digest
    ):
        return None  # a model file changed since: load in full (and say so if it is broken)
    return ruleset


def _model_of(text: str) -> RulesFile:
    """Validate a file's text without its line map: for text that passed every check before."""
    import yaml

    from .schema import RulesFile

    return RulesFile.model_validate(yaml.load(text, Loader=_safe_loader()))


def _files_digest(files: tuple[str, ...]) -> str | None:
    """Return the digest _read_models gives for these model files, or None if one is gone."""
    if not files:
        return ""
    digest = hashlib.sha256()
    try:
        for file in files:
            digest.update(Path(file).read_bytes())
    except OSError:
        return None
    return digest.hexdigest()[:16]


def _write_private(path: Path, value: object) -> None:
    """Pickle value at path atomically, readable and writable by this user only."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    temporary.replace(path)


@dataclass(frozen=True)
class _TablesFile:
    """The classifier scorer's tables of one snapshot's models, kept for `check --batch`.

    Building them takes ~0.15 s before every large batch; reading them back ~0.02 s. The name
    holds the models' content digest, so tables never outlive the model files they came from.
    """

    snapshot: Path  # the rule set's snapshot: the tables sit beside it, named after it
    models_digest: str

    @property
    def path(self) -> Path:
        return self.snapshot.with_name(f"tables-{self.snapshot.stem}-{self.models_digest}.pickle")

    def load(self) -> object | None:
        """Return the kept tables, or None (the scorer then builds and checks them itself)."""
        return _read_private(self.path)

    def save(self, tables: object) -> None:
        """Keep tables for the next batch; a read-only cache folder just means no speed-up."""
        try:
            self.snapshot.parent.mkdir(parents=True, exist_ok=True)
            _write_private(self.path, tables)
            _prune(self.snapshot.parent, "tables-*.pickle")
        except OSError:
            pass


# Files kept per kind in the cache folder: one per rules file version recently used.
_CACHE_KEEP = 8


def _prune(folder: Path, pattern: str) -> None:
    """Delete all but the most recently used cache files matching pattern."""
    files = sorted(folder.glob(pattern), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in files[_CACHE_KEEP:]:
        old.unlink(missing_ok=True)


def _read_json(path: Path) -> dict[str, list[list[str]] | None] | None:
    """Return a cache file's mapping, or None if it is missing or unreadable."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    # Keep only well-formed entries; anything else is simply worked out again.
    return {
        k: v
        for k, v in data.items()
        if v is None or (isinstance(v, list) and 0 < len(v) <= 2 and all(_strings(g) for g in v))
    }


def _strings(value: object) -> bool:
    """Return True for a non-empty list of non-empty strings."""
    return isinstance(value, list) and bool(value) and all(isinstance(x, str) and x for x in value)


# The libraries whose behaviour decides what a file's examples give (by import name).
_ENGINE_PACKAGES = ("re2", "ahocorasick", "twitter_text", "pydantic", "yaml")


def _fingerprint(raw: bytes) -> str:
    """Hash the rules file together with the engine that judged its examples."""
    digest = hashlib.sha256(raw)
    for source in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(source.read_bytes())
    for name in _ENGINE_PACKAGES:
        digest.update(_package_stamp(name).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:32]


def _package_stamp(name: str) -> str:
    """Identify the installed copy of a library: its module file's path, size and mtime.

    Installing another version rewrites that file. (importlib.metadata's version lookup parses
    every package's METADATA: ~13 ms of each start, for the same answer.)
    """
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        return f"{name}: missing"
    try:
        info = os.stat(spec.origin)
    except OSError:
        return f"{name}: {spec.origin}"
    return f"{name}: {spec.origin} {info.st_size} {info.st_mtime_ns}"


def find_rules_file(explicit: str | None, env_value: str | None, cwd: Path | None = None) -> Path:
    """Pick the rules file: --rules, then SOCIAL_REVIEW_RULES, then ./rules.yaml, then the packaged copy."""
    if explicit:
        return Path(explicit)
    if env_value:
        return Path(env_value)
    local = (cwd or Path.cwd()) / "rules.yaml"
    if local.is_file():
        return local
    return PACKAGED_RULES
