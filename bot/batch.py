"""`check --batch`: review JSONL drafts in order, on every core when the batch is large."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .rules import RuleSet

# Below this many lines a second process costs more than it saves (fork + pipe ~30 ms).
PARALLEL_MIN_LINES = 2_000
# Lines per task: big enough that the pipe is not the bottleneck, small enough to keep order
# cheap and memory flat (only a few chunks are in flight at once).
CHUNK_LINES = 500


@dataclass(frozen=True, slots=True)
class Chunk:
    """Reviewed lines: what to write, and whether any was flagged or unreadable."""

    output: str
    flagged: bool
    bad: bool


# (line number, error kind) -> the localized message; injected by the CLI so that this module
# needs no message catalog.
ErrorText = Callable[[str, int, str], str]

_RULESET: RuleSet | None = None
_ERROR_TEXT: ErrorText | None = None


def review_chunk(ruleset: RuleSet, lines: list[tuple[int, str]], error_text: ErrorText) -> Chunk:
    """Review numbered JSONL lines; a line that is not a draft becomes an error line."""
    out: list[str] = []
    drafts: list[tuple[int, Any, str]] = []  # (where its line goes in out, id, text)
    bad = False
    dumps = _dumps
    for n, line in lines:
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            message = error_text("batch_json", n, exc.msg)
            out.append(dumps({"id": None, "line": n, "error": message}))
            bad = True
            continue
        draft_id = item.get("id") if isinstance(item, dict) else None
        text = item.get("text") if isinstance(item, dict) else None
        if not isinstance(text, str):
            message = error_text("batch_text", n, "")
            out.append(dumps({"id": draft_id, "line": n, "error": message}))
            bad = True
            continue
        drafts.append((len(out), draft_id, text))
        out.append("")  # filled in below
    # The whole chunk at once: the classifier scores every draft in one pass.
    reviews = ruleset.review_many([text for _, _, text in drafts])
    flagged = False
    for (slot, draft_id, _), review in zip(drafts, reviews, strict=True):
        flagged = flagged or review.verdict in ("block", "approval")
        out[slot] = dumps(review.to_dict(draft_id))
    out.append("")
    return Chunk("\n".join(out), flagged, bad)


def _dumps(obj: Any) -> str:
    """Return one JSON line; a lone surrogate (from a broken client) is written escaped."""
    line = json.dumps(obj, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(obj)  # \udXXX escapes: still valid JSON, and writable
    return line


def _worker_chunk(lines: list[tuple[int, str]]) -> Chunk:
    assert _RULESET is not None and _ERROR_TEXT is not None  # set before the fork
    return review_chunk(_RULESET, lines, _ERROR_TEXT)


def _chunks(lines: Iterable[str]) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            chunk.append((n, line))
            if len(chunk) >= CHUNK_LINES:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def default_jobs() -> int:
    """Return how many processes a large batch may use: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def review_lines(
    ruleset: RuleSet, lines: list[str], error_text: ErrorText, jobs: int
) -> Iterator[Chunk]:
    """Yield reviewed chunks of lines in input order, using up to `jobs` processes."""
    global _RULESET, _ERROR_TEXT
    if jobs <= 1 or len(lines) < PARALLEL_MIN_LINES:
        for chunk in _chunks(lines):
            yield review_chunk(ruleset, chunk, error_text)
        return
    import multiprocessing  # only large batches pay for it

    if "fork" not in multiprocessing.get_all_start_methods():
        # Without fork each worker would load and check the rules again: not worth it.
        for chunk in _chunks(lines):
            yield review_chunk(ruleset, chunk, error_text)
        return
    # Workers are forked after the rules are loaded and every lazy part of them is built:
    # they share the compiled rule set instead of each compiling its own copy.
    ruleset.prepare_all()
    _RULESET, _ERROR_TEXT = ruleset, error_text
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            yield from pool.imap(_worker_chunk, _chunks(lines))
    finally:
        _RULESET = _ERROR_TEXT = None
