"""Shared helpers for the engine benchmarks: timing, percentiles, subprocess wall clock, tables."""

from __future__ import annotations

import gc
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.rules import RuleSet

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
WORK = RESULTS / "work"


def social_review_command() -> list[str]:
    """Return the argv prefix of the installed `social-review` console script."""
    script = Path(sys.executable).parent / "social-review"
    if script.exists():
        return [str(script)]
    found = shutil.which("social-review")
    if found:
        return [found]
    return [sys.executable, "-m", "bot.cli"]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Return the nearest-rank q-th percentile (0-100) of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil(n*q/100), at least 1
    return float(sorted_values[int(rank) - 1])


def summarize(samples_us: Sequence[float]) -> dict[str, Any]:
    """Return n, mean, p50, p90, p99 and max of samples given in microseconds."""
    values = sorted(samples_us)
    if not values:
        nan = float("nan")
        return {"n": 0} | dict.fromkeys(("mean_us", "p50_us", "p90_us", "p99_us", "max_us"), nan)
    return {
        "n": len(values),
        "mean_us": round(statistics.fmean(values), 1),
        "p50_us": round(percentile(values, 50), 1),
        "p90_us": round(percentile(values, 90), 1),
        "p99_us": round(percentile(values, 99), 1),
        "max_us": round(values[-1], 1),
    }


def time_reviews(
    ruleset: RuleSet, texts: Sequence[str], passes: int = 1, warmup: int = 100
) -> list[list[float]]:
    """Time ruleset.review on each text; return per-text lists of samples in microseconds.

    The garbage collector stays on, as in the real process: its pauses belong in the tail.
    """
    for i in range(min(warmup, len(texts) * 3)):
        ruleset.review(texts[i % len(texts)])
    samples: list[list[float]] = [[] for _ in texts]
    clock = time.perf_counter_ns
    review = ruleset.review
    for _ in range(passes):
        for i, text in enumerate(texts):
            start = clock()
            review(text)
            samples[i].append((clock() - start) / 1e3)
    return samples


def wall_clock(
    argv: Sequence[str],
    runs: int,
    *,
    stdin_path: Path | None = None,
    cwd: Path = REPO,
    env_for_run: Callable[[int], dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Run a command `runs` times with output discarded; return wall-clock seconds (each, median).

    env_for_run(i), if given, adds environment variables for run i (a fresh cache folder...).
    """
    times: list[float] = []
    codes: set[int] = set()
    base_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    for i in range(runs):
        env = {**base_env, **(env_for_run(i) if env_for_run else {})}
        gc.collect()
        stdin = stdin_path.open("rb") if stdin_path else subprocess.DEVNULL
        try:
            start = time.perf_counter()
            proc = subprocess.run(
                list(argv),
                stdin=stdin,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=env,
                check=False,
            )
            times.append(time.perf_counter() - start)
        finally:
            if stdin_path:
                stdin.close()  # type: ignore[union-attr]
        codes.add(proc.returncode)
        if proc.returncode not in (0, 1):
            raise RuntimeError(
                f"{argv[0]} exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-2000:]}"
            )
    return {
        "runs_s": [round(t, 4) for t in times],
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "exit_codes": sorted(codes),
    }


def machine_reference(runs: int = 5) -> dict[str, Any]:
    """Time a fixed pure-Python workload (no project code): how fast this machine is right now.

    The same code measures 1.5-2x apart on this project's VMs from one day to the next, so a
    run's figures are read beside this one: when it is slower, everything is, ours or not.
    """
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        counts: dict[int, int] = {}
        total = 0
        for i in range(2_000_000):
            total += i & 7
            counts[i & 1023] = counts.get(i & 1023, 0) + 1
        times.append(time.perf_counter() - start)
    return {
        "workload": "2M loop steps with dict updates",
        "runs_s": [round(t, 4) for t in times],
        "best_s": round(min(times), 4),
        "median_s": round(statistics.median(times), 4),
    }


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Call fn and return (its result, seconds it took)."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Render a plain-text table with right-aligned numeric columns."""
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [len(h) for h in header]
    for row in cells:
        widths = [max(w, _width(c)) for w, c in zip(widths, row, strict=True)]
    lines = [
        f"\n## {title}",
        "  ".join(
            _pad(h, w, left=i == 0) for i, (h, w) in enumerate(zip(header, widths, strict=True))
        ),
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append(
            "  ".join(
                _pad(c, w, left=i == 0) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _width(text: str) -> int:
    # East Asian wide characters take two columns in a terminal.
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def _pad(text: str, width: int, *, left: bool) -> str:
    fill = " " * (width - _width(text))
    return text + fill if left else fill + text


def met(value: float, limit: float, *, at_least: bool = False) -> str:
    """Return 'yes' or 'NO' for value against a target limit."""
    ok = value >= limit if at_least else value <= limit
    return "yes" if ok else "NO"
