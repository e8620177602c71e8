"""The compiled rule set: one pass of Aho-Corasick and RE2 over a normalized draft, then per-rule filters."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import ahocorasick
import re2

from . import classifier, metrics
from .normalize import SEPARATORS, Key, base_key, evasion_key, normalize_pattern, normalize_term
from .prefilter import trigger_groups, weak
from .types import SEVERITY_RANK, Finding, Review

if TYPE_CHECKING:  # pydantic is only needed to validate a file, not to review with it
    from collections.abc import Callable

    from .schema import Rule, RulesFile

# A draft that repeats one bad word thousands of times needs a handful of findings, not all.
MAX_FINDINGS_PER_RULE = 20

_HIT, _ALLOW, _NEAR, _UNLESS, _BEFORE, _AFTER = range(6)


class PatternError(ValueError):
    """A rule's regular expression is not valid RE2."""

    def __init__(
        self, pattern: str, reason: str, rule_index: int = -1, where: tuple[Any, ...] = ()
    ) -> None:
        super().__init__(reason)
        self.pattern = pattern
        self.reason = reason
        self.rule_index = rule_index
        self.where = where


class PatternErrors(ValueError):
    """Every invalid pattern of a rule set, found while compiling it."""

    def __init__(self, errors: list[PatternError]) -> None:
        super().__init__("; ".join(f"{e.pattern}: {e.reason}" for e in errors))
        self.errors = errors


def _re2_options() -> re2.Options:
    opts = re2.Options()
    opts.case_sensitive = False
    opts.log_errors = False
    # Bounds the DFA memory a huge pattern may take; too large a pattern fails to compile.
    opts.max_mem = 8 << 20
    return opts


_OPTS = _re2_options()
_OPTS_NO_CAPTURE = _re2_options()
_OPTS_NO_CAPTURE.never_capture = True  # the engine needs only the whole match's span


def compile_pattern(pattern: str, *, evasion: bool = False) -> re2._Regexp:
    """Compile a rule author's regex with RE2 (linear time), raising PatternError if invalid."""
    source = normalize_pattern(pattern, evasion=evasion)
    try:
        return re2.compile(source, _OPTS)
    except re2.error as exc:
        raise PatternError(pattern, _reason(exc)) from None


def _reason(exc: Exception) -> str:
    reason = exc.args[0] if exc.args else str(exc)
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    return str(reason)


# pyahocorasick finds a node's child by a linear search through its children, in the order
# they were added, and the root has hundreds (one per first character of any term). Children
# for the characters drafts use most, added first, make the search for them short: either
# they start a term or they lead to a dummy word (the character, then _NEVER) that matches
# nothing a rule cares about. Hiragana by frequency, punctuation, ASCII by English frequency.
_COMMON_CHARS = (
    "のにはをたがでてとしいかるなすまっんらあうれさこもりくごおけせよきちつだどみそめねわやろえほばじぶぎゃゅょ"
    "。、！？!?ー・「」（）\n 　,.:/@#"
    "etaoinshrdlcumwfgypbvkjxqz0123456789"
)
_NEVER = "\x01"
_NOTHING = (2, (), frozenset(), frozenset(), (), (), False, False)  # an automaton value: no payload

_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@dataclass(slots=True)
class _Hits:
    """Raw spans found for one rule in one key, before filtering."""

    hits: list[tuple[int, int, str | None, bool]] = field(default_factory=list)
    allow: list[tuple[int, int]] = field(default_factory=list)
    near: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    unless: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    before: list[tuple[int, int]] = field(default_factory=list)
    after: list[tuple[int, int]] = field(default_factory=list)


@dataclass(slots=True)
class _CompiledRule:
    """What reviewing needs of one rule: plain data, so a compiled rule set pickles without pydantic."""

    index: int
    id: str
    category: str
    severity: str
    requires_approval: bool
    guideline: str | None
    confidence: str
    metric: tuple[str, int] | None  # (kind, max) of a metric rule
    message: str
    suggestion: str | None
    evasion: bool
    # Terms the author wrote in mixed kana (キモい): text spelled exactly so is no evasion trick.
    mixed_terms: frozenset[str] = frozenset()
    # (context index, within) of each `near` (all must be close) and `unless` (any cancels).
    near: tuple[tuple[int, int], ...] = ()
    unless: tuple[tuple[int, int], ...] = ()


# Low-level RE2 search: the public finditer re-encodes the whole text on every call and
# extracts every capture group; patterns here are compiled without captures and searched on
# one UTF-8 copy of the key. google-re2 is pinned (<2) for this.
_UNANCHORED = re2._Anchor.UNANCHORED
_NO_MATCH = (-1, -1)


def _search_all(
    regexp: Any, data: bytes, limit: int, first: tuple[int, int]
) -> list[tuple[int, int]]:
    """Return the byte spans of non-empty, non-overlapping matches, the first one given."""
    spans: list[tuple[int, int]] = []
    n = len(data)
    span = first
    while True:
        start, end = span
        if end > start:
            spans.append(span)
            if len(spans) >= limit:
                break
            pos = end
        else:
            pos = end + 1  # step over one character, not into the middle of one
            while pos < n and data[pos] & 0xC0 == 0x80:
                pos += 1
        if pos > n:
            break
        span = regexp.Match(_UNANCHORED, data, pos, n)[0]
        if span == _NO_MATCH:
            break
    return spans


@dataclass(slots=True)
class _Pattern:
    source: str  # normalized, as compiled
    rule_index: int
    role: int
    extra: int | None
    compiled: Any = None  # re2's RE2 object, made on first use when the rules were vouched for

    def __reduce__(self) -> tuple[Any, ...]:
        # RE2 objects do not pickle: a pattern read from a snapshot compiles on first use.
        return (_Pattern, (self.source, self.rule_index, self.role, self.extra))

    @property
    def regexp(self) -> Any:
        """Return the compiled RE2 object (compiling it now if it was deferred)."""
        if self.compiled is None:
            self.compiled = re2.compile(self.source, _OPTS_NO_CAPTURE)._regexp
        return self.compiled


class _Matcher:
    """Every term and pattern of every rule that reads one kind of key, in one automaton.

    The automaton holds the rules' terms and, for each pattern, one or two sets of literal
    strings every match must contain (prefilter.trigger_groups): a pattern runs only on
    drafts holding them. A rule whose `near` cues are absent is skipped, and context
    patterns run only for rules that already have a hit.
    """

    def __init__(self) -> None:
        self._terms: dict[str, list[tuple[int, int, str | int | None]]] = defaultdict(list)
        # (author's pattern, normalized source, rule index, role, context index, where in rule)
        self._sources: list[tuple[str, str, int, int, int | None, tuple[Any, ...]]] = []
        self._patterns: list[_Pattern] = []
        self._always_hit: tuple[int, ...] = ()
        self._always_context: tuple[int, ...] = ()
        self._hit_ids: frozenset[int] = frozenset()
        self._near_ids: frozenset[int] = frozenset()  # the patterns in _near_patterns
        # rule index -> (rule index, context index) of each of its `near` contexts: every one
        # must show up for a match.
        self._near_needed: dict[int, frozenset[tuple[int, int]]] = {}
        self._pattern_rule: tuple[int, ...] = ()
        self._near_patterns: dict[int, tuple[int, int]] = {}  # pattern -> (rule, context)
        self._always_near: frozenset[tuple[int, int]] = frozenset()
        self._weak: list[int] = []  # patterns with no distinctive word: they run on most drafts
        # The automaton maps each word to an index into _values: an automaton of plain ints
        # unpickles ~7x faster than one holding a tuple per word (start-up from a snapshot).
        self._automaton: ahocorasick.Automaton | None = None
        self._values: list[tuple[Any, ...]] = []

    def require_near(self, rule_index: int, contexts: int) -> None:
        """Note that a rule matches only where each of its `contexts` near-contexts is seen."""
        if contexts:
            self._near_needed[rule_index] = frozenset((rule_index, k) for k in range(contexts))

    def add_term(
        self, term: str, rule_index: int, role: int, extra: str | int | None = None
    ) -> None:
        if term:
            self._terms[term].append((rule_index, role, extra))

    def add_pattern(
        self,
        pattern: str,
        evasion: bool,
        rule_index: int,
        role: int,
        extra: int | None = None,
        where: tuple[Any, ...] = (),
    ) -> None:
        source = normalize_pattern(pattern, evasion=evasion)
        self._sources.append((pattern, source, rule_index, role, extra, where))

    def freeze(
        self,
        known: Mapping[str, list[list[str]] | None],
        learned: dict[str, list[list[str]] | None],
        defer: bool = False,
    ) -> None:
        """Compile everything; known holds trigger sets worked out before (by source).

        defer: the patterns are known to compile (this exact file passed before), so each is
        compiled when a draft first needs it; `check` on one draft compiles a handful.
        """
        errors: list[PatternError] = []
        triggered: dict[str, list[int]] = defaultdict(list)  # literal -> one-set patterns
        paired: dict[str, list[int]] = defaultdict(list)  # literal -> tokens of two-set ones
        always_hit: list[int] = []
        always_context: list[int] = []
        for i, (pattern, source, rule_index, role, extra, where) in enumerate(self._sources):
            compiled = None
            if not defer:
                try:
                    compiled = re2.compile(source, _OPTS_NO_CAPTURE)._regexp
                except re2.error as exc:
                    errors.append(PatternError(pattern, _reason(exc), rule_index, where))
                    continue
            self._patterns.append(_Pattern(source, rule_index, role, extra, compiled))
            if source in known:
                cached = known[source]
                groups = None if cached is None else tuple(frozenset(g) for g in cached)
                learned[source] = cached  # already in the cache's sorted form
            else:
                groups = trigger_groups(source)
                learned[source] = None if groups is None else [sorted(g) for g in groups]
            if role == _HIT and weak(groups):  # context patterns only run for rules with a hit
                self._weak.append(i)
            if groups is None:
                (always_hit if role == _HIT else always_context).append(i)
                continue
            # A pattern with one set runs when one of its literals is seen. One with two sets
            # runs only when both were: token 2i stands for its first set, 2i+1 its second.
            if len(groups) == 1:
                for literal in groups[0]:
                    triggered[literal].append(i)
                continue
            for g, literals in enumerate(groups):
                for literal in literals:
                    paired[literal].append(2 * i + g)
        if errors:
            raise PatternErrors(errors)
        self._always_hit = tuple(always_hit)
        self._always_context = tuple(always_context)
        self._hit_ids = frozenset(i for i, p in enumerate(self._patterns) if p.role == _HIT)
        self._pattern_rule = tuple(p.rule_index for p in self._patterns)
        self._near_patterns = {
            i: (p.rule_index, int(p.extra or 0))
            for i, p in enumerate(self._patterns)
            if p.role == _NEAR
        }
        self._near_ids = frozenset(self._near_patterns)
        self._always_near = frozenset(
            self._near_patterns[i] for i in always_context if i in self._near_patterns
        )
        words = set(self._terms) | set(triggered) | set(paired)
        if words:
            automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
            values: list[tuple[Any, ...]] = [_NOTHING]
            for ch in _COMMON_CHARS:
                if ch + _NEVER not in words:
                    automaton.add_word(ch + _NEVER, 0)
            terms = self._terms
            word_chars = _WORD_CHARS
            nothing: frozenset[Any] = frozenset()
            add_word = automaton.add_word
            for word in words:  # ~10k words in the shipped file: this loop is start-up time
                entries = terms.get(word)
                payload: tuple[tuple[int, int, str | int | None], ...] = ()
                hit_rules = near = nothing
                if entries:
                    payload = tuple(entries)
                    hit_rules = frozenset([r for r, role, _ in payload if role == _HIT])
                    near = frozenset([(r, int(x or 0)) for r, role, x in payload if role == _NEAR])
                tokens = triggered.get(word)
                pairs = paired.get(word)
                # An ASCII term is a whole word ('ass' is not in 'class'): which ends to check.
                value = (
                    len(word),
                    payload,
                    hit_rules,
                    near,
                    tuple(tokens) if tokens else (),
                    tuple(pairs) if pairs else (),
                    word[0] in word_chars,
                    word[-1] in word_chars,
                )
                add_word(word, len(values))
                values.append(value)
            automaton.make_automaton()
            self._automaton = automaton
            self._values = values

    def compile_all(self) -> None:
        """Compile every pattern whose compilation was deferred."""
        for pattern in self._patterns:
            _ = pattern.regexp

    @property
    def empty(self) -> bool:
        return not self._terms and not self._sources

    def unfiltered(self) -> list[tuple[int, tuple[Any, ...], str]]:
        """Return (rule index, where in the rule, pattern) of patterns that run on most drafts."""
        return [(self._sources[i][2], self._sources[i][5], self._sources[i][0]) for i in self._weak]

    def scan(self, text: str) -> dict[int, _Hits]:
        """Return the raw spans of every rule that has at least one hit in text."""
        hit_rules: set[int] = set()
        events: list[tuple[int, int, tuple[tuple[int, int, str | int | None], ...]]] = []
        fired: set[int] = set()
        pairs: set[int] = set()
        near_seen = set(self._always_near)
        if self._automaton is not None:
            n = len(text)
            word_chars = _WORD_CHARS
            values = self._values
            for end_idx, index in self._automaton.iter(text):
                value = values[index]
                (
                    length,
                    payload,
                    word_hits,
                    near_keys,
                    pattern_ids,
                    pair_ids,
                    word_start,
                    word_end,
                ) = value
                if pattern_ids:
                    fired.update(pattern_ids)
                if pair_ids:
                    pairs.update(pair_ids)
                if not payload:
                    continue
                start = end_idx - length + 1
                end = end_idx + 1
                if word_start and start > 0 and text[start - 1] in word_chars:
                    continue
                if word_end and end < n and text[end] in word_chars:
                    continue
                events.append((start, end, payload))
                if word_hits:
                    hit_rules.update(word_hits)
                if near_keys:
                    near_seen.update(near_keys)
        out: dict[int, _Hits] = {}
        patterns = self._patterns
        limit = MAX_FINDINGS_PER_RULE * 4
        if pairs:
            # Even tokens: a pattern's first literal set seen; odd: its second one.
            firsts = {token >> 1 for token in pairs if not token & 1}
            fired.update(firsts.intersection([token >> 1 for token in pairs if token & 1]))
        near_patterns = self._near_patterns
        near_seen.update([near_patterns[i] for i in fired & self._near_ids])
        needed = self._near_needed
        runs = fired & self._hit_ids
        runs.update(self._always_hit)
        # A rule whose `near` cues are not all in the draft cannot match: skip its work.
        rule_of = self._pattern_rule
        impossible = {
            r
            for r in hit_rules.union([rule_of[i] for i in runs])
            if r in needed and not needed[r] <= near_seen
        }
        hit_rules -= impossible
        data = text.encode("utf-8") if runs or self._always_context else b""
        size = len(data)
        for i in runs:
            pattern = patterns[i]
            if pattern.rule_index in impossible:
                continue
            first = pattern.regexp.Match(_UNANCHORED, data, 0, size)[0]
            if first == _NO_MATCH:
                continue  # most runs: the literal was there, the pattern is not
            hit_rules.add(pattern.rule_index)
            spans = _search_all(pattern.regexp, data, limit, first)
            for start, end in _char_spans(data, spans, text):
                _record(out, pattern.rule_index, _HIT, start, end, pattern.extra, False)
        if not hit_rules:
            return out
        context = fired - self._hit_ids
        context.update(self._always_context)
        for i in context:
            pattern = patterns[i]
            if pattern.rule_index not in hit_rules:
                continue
            if not data:
                data = text.encode("utf-8")
                size = len(data)
            first = pattern.regexp.Match(_UNANCHORED, data, 0, size)[0]
            if first == _NO_MATCH:
                continue
            spans = _search_all(pattern.regexp, data, limit, first)
            for start, end in _char_spans(data, spans, text):
                _record(out, pattern.rule_index, pattern.role, start, end, pattern.extra, False)
        for start, end, payload in events:
            for rule_index, role, extra in payload:
                if rule_index in hit_rules:
                    _record(out, rule_index, role, start, end, extra, True)
        return out


def _char_spans(data: bytes, spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Map byte spans of data (text as UTF-8) to code-point spans of text."""
    if len(data) == len(text):  # ASCII: bytes are characters
        return spans
    return [
        (len(data[:start].decode("utf-8")), len(data[:end].decode("utf-8"))) for start, end in spans
    ]


def _record(
    out: dict[int, _Hits],
    rule_index: int,
    role: int,
    start: int,
    end: int,
    extra: str | int | None,
    is_term: bool,
) -> None:
    hits = out.get(rule_index)
    if hits is None:
        hits = out[rule_index] = _Hits()
    if role == _HIT:
        hits.hits.append((start, end, extra if isinstance(extra, str) else None, is_term))
    elif role == _ALLOW:
        hits.allow.append((start, end))
    elif role == _NEAR:
        hits.near.setdefault(int(extra or 0), []).append((start, end))
    elif role == _UNLESS:
        hits.unless.setdefault(int(extra or 0), []).append((start, end))
    elif role == _BEFORE:
        hits.before.append((start, end))
    else:
        hits.after.append((start, end))


# Cues of one rule this close together, in one sentence, are one finding, not three.
_MERGE_GAP = 20
_SENTENCE_END = frozenset("。！？!?\n")


def _merge_close(
    text: str, spans: list[tuple[int, int, str | None]]
) -> list[tuple[int, int, str | None]]:
    """Merge a rule's matches that sit close together in one sentence into one span."""
    merged: list[tuple[int, int, str | None]] = []
    for start, end, suggestion in sorted(spans):
        if merged:
            p_start, p_end, p_suggestion = merged[-1]
            gap = text[p_end:start]
            same_advice = suggestion is None and p_suggestion is None
            if same_advice and len(gap) <= _MERGE_GAP and not _SENTENCE_END.intersection(gap):
                merged[-1] = (p_start, max(p_end, end), None)
                continue
        merged.append((start, end, suggestion))
    return merged


def _one_per_overlap(findings: list[Finding], order: dict[str, int]) -> list[Finding]:
    """Keep one finding where findings of the same category overlap: the most serious one.

    Two collaboration rules firing on the same phrase say the same thing twice; the writer
    needs one clear message per problem. Severity wins, then approval, then file order.
    """

    def strength(f: Finding) -> tuple[int, int, int]:
        return (SEVERITY_RANK[f.severity], int(f.requires_approval), -order.get(f.rule_id, 0))

    kept: list[Finding] = []
    for f in sorted(findings, key=strength, reverse=True):
        for i, k in enumerate(kept):
            if k.category == f.category and k.start < f.end and f.start < k.end:
                if f.requires_approval and not k.requires_approval:
                    kept[i] = replace(k, requires_approval=True)  # never lose the routing
                break
        else:
            kept.append(f)
    return kept


def _cuts_into(start: int, end: int, a: int, b: int) -> bool:
    """Return True if a match [start, end) begins or ends inside the allowed word [a, b).

    So バカ inside バカンス is dropped, and so is a pattern match whose last characters are
    part of an allowed word (その…|ださい| ending inside くだ|さい|); a longer phrase that merely
    holds an allowed word somewhere in its middle is not.
    """
    return a <= start < b or a < end <= b


def _outside(spans: list[tuple[int, int]], allow: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(s, e) for s, e in spans if not any(a <= s and e <= b for a, b in allow)]


def _bare(text: str) -> str:
    """Return the base key of text without separators (キ モ い -> キモい)."""
    return "".join(c for c in base_key(text).text if c not in SEPARATORS)


def _mixed_kana(text: str, start: int, end: int) -> bool:
    """Return True if text[start:end] mixes hiragana and katakana (猫が|キ|ーボード).

    Kana folding lets こらぼ match コラボ, but a real word is written in one script; a match
    that straddles both is two words that happen to touch, not an evasion.
    """
    hira = kata = False
    for ch in text[start:end]:
        cp = ord(ch)
        if 0x3041 <= cp <= 0x3096:
            hira = True
        elif 0x30A1 <= cp <= 0x30FA or 0xFF66 <= cp <= 0xFF9D:
            kata = True
    return hira and kata


def _close(spans: Iterable[tuple[int, int]], start: int, end: int, within: int) -> bool:
    for s, e in spans:  # noqa: SIM110 - a plain loop: this runs for every candidate
        if s - end <= within and start - e <= within:  # the gap between the two spans
            return True
    return False


class TablesStore(Protocol):
    """Keeps a scorer's built tables between processes (the loader's cache folder)."""

    def load(self) -> object | None:
        """Return the tables kept for this rule set's models, or None."""

    def save(self, tables: object) -> None:
        """Keep tables for the next process; failing to is not an error."""


class RuleSet:
    """A validated, compiled rules.yaml: call review(text) for each draft."""

    def __init__(
        self,
        model: RulesFile,
        source: str | None = None,
        known_triggers: Mapping[str, list[list[str]] | None] | None = None,
        classifiers: Mapping[int, classifier.Model] | None = None,
        defer_patterns: bool = False,
        locale: str | None = None,
    ) -> None:
        """Compile model; known_triggers (from pattern_triggers of an earlier load) saves time.

        classifiers holds the trained model of each `classifier` rule, by rule index (the
        loader reads them from their files). defer_patterns compiles each pattern on first use;
        only for rules already known to compile (an invalid pattern then fails at that draft).
        locale overrides the file's `locale` for messages (ja | en).
        """
        self._model: RulesFile | None = model
        # Set by the loader on a rule set read from its snapshot, which leaves the validated
        # file out (pickling it would import pydantic at every start): rebuilds it on demand.
        self.model_factory: Callable[[], RulesFile] | None = None
        self.source = source
        # Set by the loader: a digest of the classifier model files (part of the cache key),
        # and advice that does not refuse the file (patterns that run on every draft).
        self.models_digest = ""
        self.model_files: tuple[str, ...] = ()
        self.advice: list[Any] = []
        self.locale: str = locale or model.locale
        self._rules: list[_CompiledRule] = []
        self._metric_rules: list[_CompiledRule] = []
        self._classifier_rules: list[tuple[_CompiledRule, classifier.Model, float]] = []
        self._scorer: classifier.Scorer | None = None  # built on first use
        # Set by the loader: where prepare_all() may find the scorer's tables a previous
        # process built for these very models, and keep the ones it builds.
        self.tables_store: TablesStore | None = None
        self._base = _Matcher()
        self._evasion = _Matcher()
        # The `unless` cues of classifier rules: one pseudo-rule per (rule, context), looked
        # for only when such a rule's model has flagged the draft.
        self._guards = _Matcher()
        self._guard_of: list[tuple[int, int]] = []
        for index, rule in enumerate(model.rules):
            compiled = _CompiledRule(
                index=index,
                id=rule.id,
                category=rule.category,
                severity=rule.severity,
                requires_approval=rule.requires_approval,
                guideline=rule.guideline,
                confidence=rule.confidence,
                metric=None if rule.metric is None else (rule.metric.kind, rule.metric.max),
                message=_localize(rule.message, self.locale),
                suggestion=_localize(rule.suggestion, self.locale) if rule.suggestion else None,
                evasion=rule.evasion,
                mixed_terms=frozenset(
                    _bare(t)
                    for t in [*(rule.terms or ()), *(rule.replace or {})]
                    if _mixed_kana(t, 0, len(t))
                ),
                near=tuple((k, ctx.within) for k, ctx in enumerate(rule.near_contexts)),
                unless=tuple((k, ctx.within) for k, ctx in enumerate(rule.unless_contexts)),
            )
            self._rules.append(compiled)
            if rule.metric is not None:
                self._metric_rules.append(compiled)
                continue
            if rule.classifier is not None:
                trained = (classifiers or {}).get(index)
                if trained is None:
                    raise ValueError(f"rule {rule.id}: its classifier model was not loaded")
                self._classifier_rules.append((compiled, trained, rule.classifier.threshold))
                self._add_guards(index, rule)
                continue
            self._add_rule(compiled, rule)
        self._order = {rule.id: i for i, rule in enumerate(model.rules)}
        # Reading a pattern's literals costs ~0.2 ms each: a loader may keep them between runs.
        self.pattern_triggers: dict[str, list[list[str]] | None] = {}
        known = known_triggers or {}
        self._base.freeze(known, self.pattern_triggers, defer_patterns)
        self._evasion.freeze(known, self.pattern_triggers, defer_patterns)
        try:
            self._guards.freeze(known, self.pattern_triggers, defer_patterns)
        except PatternErrors as exc:
            raise PatternErrors(
                [
                    PatternError(e.pattern, e.reason, self._guard_of[e.rule_index][0], e.where)
                    for e in exc.errors
                ]
            ) from None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_scorer"] = None  # its numpy tables are rebuilt on first use
        state["tables_store"] = None
        state["advice"] = []  # as a vouched load: `rules check` always loads in full
        state["_model"] = None  # see model_factory
        state["model_factory"] = None
        return state

    @property
    def model(self) -> RulesFile:
        """Return the validated rules file (rebuilt on first use for a rule set from a snapshot)."""
        if self._model is None:
            if self.model_factory is None:
                raise RuntimeError("this rule set came from a snapshot without its model_factory")
            self._model = self.model_factory()
        return self._model

    @property
    def rules(self) -> list[Rule]:
        """Return the rules in file order."""
        return list(self.model.rules)

    def unfiltered_patterns(self) -> list[tuple[int, tuple[Any, ...], str]]:
        """Return the patterns with no distinctive word to look for first: they run on most drafts.

        A rule with `near` cues is left out: it only runs where its cues are.
        """
        found = [*self._base.unfiltered(), *self._evasion.unfiltered()]
        found += [(self._guard_of[g][0], where, p) for g, where, p in self._guards.unfiltered()]
        return [f for f in found if not self._rules[f[0]].near]

    def _add_guards(self, index: int, rule: Rule) -> None:
        """Register a classifier rule's `unless` contexts (each its own pseudo-rule)."""
        for k, ctx in enumerate(rule.unless_contexts):
            g = len(self._guard_of)
            self._guard_of.append((index, k))
            for term in ctx.terms or ():
                self._guards.add_term(normalize_term(term, evasion=False), g, _HIT)
            base: tuple[Any, ...] = ("unless", k) if isinstance(rule.unless, list) else ("unless",)
            for j, pattern in enumerate(ctx.patterns or ()):
                self._guards.add_pattern(pattern, False, g, _HIT, None, (*base, "patterns", j))

    def _add_rule(self, compiled: _CompiledRule, rule: Rule) -> None:
        ev = rule.evasion
        matcher = self._evasion if ev else self._base
        i = compiled.index
        for term in rule.terms or ():
            matcher.add_term(normalize_term(term, evasion=ev), i, _HIT)
        for term, suggestion in (rule.replace or {}).items():
            matcher.add_term(normalize_term(term, evasion=ev), i, _HIT, suggestion)
        for j, pattern in enumerate(rule.patterns or ()):
            matcher.add_pattern(pattern, ev, i, _HIT, None, ("patterns", j))
        for term in rule.allow:
            matcher.add_term(normalize_term(term, evasion=ev), i, _ALLOW)
        for term in rule.not_preceded_by:
            matcher.add_term(normalize_term(term, evasion=ev), i, _BEFORE)
        for term in rule.not_followed_by:
            matcher.add_term(normalize_term(term, evasion=ev), i, _AFTER)
        for name, role in (("near", _NEAR), ("unless", _UNLESS)):
            value = getattr(rule, name)
            contexts = rule.near_contexts if role == _NEAR else rule.unless_contexts
            if role == _NEAR:
                matcher.require_near(i, len(contexts))
            for k, ctx in enumerate(contexts):
                for term in ctx.terms or ():
                    matcher.add_term(normalize_term(term, evasion=ev), i, role, k)
                base: tuple[Any, ...] = (name, k) if isinstance(value, list) else (name,)
                for j, pattern in enumerate(ctx.patterns or ()):
                    matcher.add_pattern(pattern, ev, i, role, k, (*base, "patterns", j))

    def review(self, text: str) -> Review:
        """Check one draft against every rule and return its findings in text order."""
        return self._review(text, self._all_findings(text))

    def review_many(self, texts: Sequence[str]) -> list[Review]:
        """Check drafts in order; each review is what review(text) gives for it."""
        if not self._classifier_rules:
            return [self.review(text) for text in texts]
        # The classifier scores every draft in one numpy pass; the rest goes draft by draft.
        prepared = [self._prepare(text) for text in texts]
        scores = iter(self._scores([key.text for _, key in prepared if key is not None]))
        return [
            self._review(
                text, self._findings(text, safe, key, None if key is None else next(scores))
            )
            for text, (safe, key) in zip(texts, prepared, strict=True)
        ]

    def prepare_all(self) -> None:
        """Do now the work normally left to first use: compile every pattern, build the scorer.

        Called before forking batch workers, so each worker shares it instead of redoing it.
        """
        for matcher in (self._base, self._evasion, self._guards):
            matcher.compile_all()
        for compiled in self._metric_rules:
            assert compiled.metric is not None
            metrics.prepare(compiled.metric[0])
        if self._classifier_rules:
            if self._scorer is None:
                self._scorer = classifier.Scorer([m for _, m, _ in self._classifier_rules])
            store = self.tables_store
            if self._scorer.built:
                return
            if store is not None and self._scorer.use_tables(store.load()):
                return
            self._scorer.build()
            if store is not None:
                store.save(self._scorer.tables())

    def rule_findings(self, text: str, rule_id: str) -> list[Finding]:
        """Return what one rule finds on its own (for checking that rule's examples)."""
        return [f for f in self._all_findings(text) if f.rule_id == rule_id]

    def _review(self, text: str, findings: list[Finding]) -> Review:
        kept = _one_per_overlap(findings, self._order)
        kept.sort(key=lambda f: (f.start, -f.end, f.rule_id))
        return Review(text=text, findings=tuple(kept))

    def _all_findings(self, text: str) -> list[Finding]:
        safe, key = self._prepare(text)
        scores = None
        if key is not None and self._classifier_rules:
            scores = self._scores([key.text])[0]
        return self._findings(text, safe, key, scores)

    def _prepare(self, text: str) -> tuple[str, Key | None]:
        """Return the text safe to encode and its base key (None for an empty draft)."""
        # Lone surrogates (from broken clients) cannot be encoded; '?' keeps every offset.
        safe = text
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            safe = text.encode("utf-8", "replace").decode("utf-8")
        return safe, base_key(safe) if text else None

    def _scores(self, keys: list[str]) -> list[list[float]]:
        if self._scorer is None:
            self._scorer = classifier.Scorer([m for _, m, _ in self._classifier_rules])
        return self._scorer.scores_many(keys)

    def _findings(
        self, text: str, safe: str, key: Key | None, scores: list[float] | None
    ) -> list[Finding]:
        findings: list[Finding] = []
        if key is not None:
            if not self._base.empty:
                findings.extend(self._scan(self._base, key, text))
            if not self._evasion.empty:
                findings.extend(self._scan(self._evasion, evasion_key(key), text))
            if scores is not None:
                findings.extend(self._classify(scores, safe, text, key))
        for compiled in self._metric_rules:
            findings.extend(self._measure(compiled, safe, text))
        return findings

    def _classify(self, scores: list[float], safe: str, text: str, key: Key) -> list[Finding]:
        """Flag the draft for each classifier rule whose model scored it at the threshold.

        A rule's `unless` cue within its `within` characters of the sentence the finding
        points at cancels the finding.
        """
        fired = [
            i
            for i, ((_, _, threshold), score) in enumerate(
                zip(self._classifier_rules, scores, strict=True)
            )
            if score >= threshold
        ]
        if not fired:
            return []
        # A score has no excerpt of its own: point at the sentence that scores highest.
        sentences = _sentences(safe)
        best = [0] * len(fired)
        if len(sentences) > 1:
            keys = [base_key(safe[s:e]).text for s, e in sentences]
            assert self._scorer is not None  # it gave the scores
            best = self._scorer.highest(fired, keys)
        found: list[Finding] = []
        guards: dict[tuple[int, int], list[tuple[int, int]]] | None = None
        for i, k in zip(fired, best, strict=True):
            compiled = self._classifier_rules[i][0]
            start, end = sentences[k]
            if compiled.unless:
                if guards is None:
                    guards = self._guard_spans(key)
                if any(
                    _close(guards.get((compiled.index, c), ()), start, end, within)
                    for c, within in compiled.unless
                ):
                    continue
            message = _fill(compiled.message, score=round(scores[i] * 100))
            found.append(self._finding(compiled, text, start, end, None, message=message))
        return found

    def _guard_spans(self, key: Key) -> dict[tuple[int, int], list[tuple[int, int]]]:
        """Return where each classifier rule's `unless` context is seen, in original offsets."""
        spans: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for g, hits in self._guards.scan(key.text).items():
            spans[self._guard_of[g]] = [key.span(s, e) for s, e, _, _ in hits.hits]
        return spans

    def _scan(self, matcher: _Matcher, key: Key, text: str) -> list[Finding]:
        raw = matcher.scan(key.text)
        found: list[Finding] = []
        for rule_index, hits in raw.items():
            if not hits.hits:
                continue
            compiled = self._rules[rule_index]
            kept = _filter(compiled, hits)
            spans: list[tuple[int, int, str | None]] = []
            for start, end, suggestion, is_term in kept:
                o_start, o_end = key.span(start, end)
                # A term is one word; a pattern may span several, so only terms are checked.
                if (
                    compiled.evasion
                    and is_term
                    and _mixed_kana(text, o_start, o_end)
                    and _bare(text[o_start:o_end]) not in compiled.mixed_terms
                ):
                    continue
                spans.append((o_start, o_end, suggestion))
            for o_start, o_end, suggestion in _merge_close(text, spans)[:MAX_FINDINGS_PER_RULE]:
                found.append(self._finding(compiled, text, o_start, o_end, suggestion))
        return found

    def _measure(self, compiled: _CompiledRule, safe: str, text: str) -> list[Finding]:
        assert compiled.metric is not None
        kind, limit = compiled.metric
        result = metrics.measure(kind, safe, limit)
        if result is None:
            return []
        start, end, value = result
        message = _fill(compiled.message, value=value, max=limit, over=value - limit)
        return [self._finding(compiled, text, start, end, None, message=message)]

    def _finding(
        self,
        compiled: _CompiledRule,
        text: str,
        start: int,
        end: int,
        suggestion: str | None,
        message: str | None = None,
    ) -> Finding:
        return Finding(
            rule_id=compiled.id,
            category=compiled.category,
            severity=compiled.severity,
            requires_approval=compiled.requires_approval,
            start=start,
            end=end,
            excerpt=text[start:end],
            message=message if message is not None else compiled.message,
            suggestion=suggestion if suggestion is not None else compiled.suggestion,
            guideline=compiled.guideline,
            confidence=compiled.confidence,
        )


def _filter(compiled: _CompiledRule, hits: _Hits) -> list[tuple[int, int, str | None, bool]]:
    """Apply allow-lists, context guards and near/unless, then drop overlapping duplicates."""
    allow = hits.allow
    near_spans, unless_spans = hits.near, hits.unless
    if allow:
        # A cue inside an allowed word is no cue either (ださい inside ください).
        near_spans = {k: _outside(v, allow) for k, v in near_spans.items()}
        unless_spans = {k: _outside(v, allow) for k, v in unless_spans.items()}
    before_ends = {e for _, e in hits.before}
    after_starts = {s for s, _ in hits.after}
    near, unless = compiled.near, compiled.unless
    candidates = sorted(hits.hits, key=lambda h: (h[0], -(h[1] - h[0])))
    kept: list[tuple[int, int, str | None, bool]] = []
    last_end = -1
    for start, end, suggestion, is_term in candidates:
        if start < last_end:
            continue  # overlaps a longer match already kept
        if allow and any(_cuts_into(start, end, a, b) for a, b in allow):
            continue
        if start in before_ends or end in after_starts:
            continue
        if near and not all(
            _close(near_spans.get(k, ()), start, end, within) for k, within in near
        ):
            continue
        if unless and any(
            _close(unless_spans.get(k, ()), start, end, within) for k, within in unless
        ):
            continue
        kept.append((start, end, suggestion, is_term))
        last_end = end
    return kept


_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]*")


def _sentences(text: str) -> list[tuple[int, int]]:
    """Return the spans of text's sentences, without leading or trailing blanks."""
    spans = []
    for m in _SENTENCE.finditer(text):
        start, end = m.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans or [(0, len(text))]


def _localize(message: object, locale: str) -> str:
    if isinstance(message, str):
        return message
    return message.get(locale)  # type: ignore[attr-defined]


def _fill(message: str, **values: int) -> str:
    for name, value in values.items():
        message = message.replace("{" + name + "}", str(value))
    return message
