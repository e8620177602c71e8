"""Benchmark: a burst of drafts through `social-review serve --http` against the stub Slack API.

Measures ack latency (HTTP request → 200), event → thread reply latency (request sent → stub
receives chat.postMessage), lost and duplicated replies, then runs a steady soak and samples
the server's resident memory.

    python bench/slack_burst.py                       # 500 drafts in 5 s, 30 s soak
    python bench/slack_burst.py --soak 600            # the README figure: 10-minute soak
    python bench/slack_burst.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.slack.stub import StubSlack, sign  # noqa: E402

SECRET = "bench-signing-secret"
CHANNEL = "CBENCH001"
DRAFTS = [
    "新商品のご案内です！ぜひチェックしてください :tada: <https://example.com|example.com>",
    "@sharp_jp さん、今度コラボしませんか？",
    "いつもありがとうございます。週末はバカンスに行ってきます",
    "そんなのバカでもわかる",
    "本日 10:00 から &amp; 限定セール開催中",
]


def percentile(values: list[float], p: float) -> float:
    """Return the p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def rss_kib(pid: int) -> int:
    """Return a process's resident set size in KiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_server(
    stub: StubSlack, database_url: str, rules: Path, workdir: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the app on a free port and wait for /healthz."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = shutil.which("social-review", path=str(Path(sys.executable).parent))
    argv = [script] if script else [sys.executable, "-m", "bot"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SOCIAL_REVIEW_"))}
    env.update(
        SLACK_BOT_TOKEN=stub.token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=stub.api_url,
        SOCIAL_REVIEW_CHANNELS=CHANNEL,
        SOCIAL_REVIEW_RULES=str(rules),
        DATABASE_URL=database_url,
    )
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [*argv, "serve", "--http", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return process, url
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    process.kill()
    raise SystemExit("server did not start; see " + str(workdir / "server.log"))


class Sender:
    """Sends signed message events and remembers when each was sent and acked."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sent: dict[str, float] = {}
        self.acks: list[float] = []
        self.failures = 0
        self._lock = threading.Lock()
        self._n = 0

    def draft(self, index: int) -> None:
        """Post draft number index as a new top-level message."""
        ts = f"{1800000000 + index}.{index % 1000000:06d}"
        event = {
            "type": "message",
            "channel": CHANNEL,
            "user": "UBENCH001",
            "text": f"{DRAFTS[index % len(DRAFTS)]} #{index}",
            "ts": ts,
            "event_ts": ts,
            "channel_type": "channel",
        }
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T00000001",
                "api_app_id": "A00000001",
                "event_id": f"Ev{index:010d}",
                "event_time": int(time.time()),
                "event": event,
            }
        )
        headers = {"Content-Type": "application/json", **sign(SECRET, body)}
        request = urllib.request.Request(self.url + "/slack/events", body.encode(), headers)
        start = time.monotonic()
        with self._lock:
            self.sent[ts] = start
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                ok = response.status == 200
        except (urllib.error.URLError, ConnectionError):
            ok = False
        elapsed = time.monotonic() - start
        with self._lock:
            if ok:
                self.acks.append(elapsed)
            else:
                self.failures += 1


def run_burst(
    sender: Sender, count: int, seconds: float, first: int, pool: ThreadPoolExecutor
) -> None:
    """Send count drafts spread evenly over seconds."""
    t0 = time.monotonic()
    futures = []
    for i in range(count):
        delay = t0 + i * seconds / count - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        futures.append(pool.submit(sender.draft, first + i))
    for f in futures:
        f.result()


def reply_stats(stub: StubSlack, sender: Sender, timeout: float) -> dict[str, float]:
    """Wait for every reply, then return latency percentiles and lost/duplicated counts."""
    wanted = set(sender.sent)

    def replied(s: StubSlack) -> bool:
        got = {c.params.get("thread_ts") for c in s.calls_to("chat.postMessage")}
        return wanted <= got

    stub.wait_for(replied, timeout)
    time.sleep(1.0)  # let any duplicate show up
    per_draft: dict[str, list[float]] = {}
    for call in stub.calls_to("chat.postMessage"):
        per_draft.setdefault(call.params.get("thread_ts"), []).append(call.at)
    latencies = [min(per_draft[ts]) - sent for ts, sent in sender.sent.items() if ts in per_draft]
    return {
        "drafts": len(wanted),
        "lost": len(wanted - set(per_draft)),
        "duplicated": sum(len(v) - 1 for ts, v in per_draft.items() if ts in wanted),
        "reply_p50_ms": percentile(latencies, 50) * 1000,
        "reply_p99_ms": percentile(latencies, 99) * 1000,
        "reply_max_ms": max(latencies, default=float("nan")) * 1000,
        "ack_p50_ms": percentile(sender.acks, 50) * 1000,
        "ack_p99_ms": percentile(sender.acks, 99) * 1000,
        "ack_max_ms": max(sender.acks, default=float("nan")) * 1000,
        "ack_failures": sender.failures,
    }


def main() -> None:
    """Run the burst, then the soak, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the burst")
    parser.add_argument("--soak", type=float, default=30.0, help="soak duration in seconds")
    parser.add_argument("--soak-rate", type=float, default=20.0, help="drafts per second in soak")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--rules", type=Path, default=REPO / "rules.yaml")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="slack-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    result: dict[str, object] = {"database": database_url.split(":")[0]}
    with StubSlack() as stub, ThreadPoolExecutor(max_workers=64) as pool:
        process, url = start_server(stub, database_url, args.rules.resolve(), workdir)
        try:
            Sender(url).draft(10_000_000)  # warm-up: first request loads lazily imported code
            sender = Sender(url)
            run_burst(sender, args.drafts, args.seconds, 0, pool)
            result["burst"] = reply_stats(stub, sender, timeout=60)

            if args.soak > 0:
                soak = Sender(url)
                samples: list[tuple[float, int]] = []
                count = int(args.soak * args.soak_rate)
                chunk = max(1, int(args.soak_rate * 5))  # sample memory every ~5 s
                start = time.monotonic()
                for first in range(0, count, chunk):
                    n = min(chunk, count - first)
                    run_burst(soak, n, n / args.soak_rate, 1_000_000 + first, pool)
                    samples.append((time.monotonic() - start, rss_kib(process.pid)))
                stats = reply_stats(stub, soak, timeout=60)
                rss = [kib for _, kib in samples]
                quarter = max(1, len(rss) // 4)
                result["soak"] = {
                    "seconds": args.soak,
                    "drafts": stats["drafts"],
                    "lost": stats["lost"],
                    "duplicated": stats["duplicated"],
                    "reply_p99_ms": stats["reply_p99_ms"],
                    "ack_p99_ms": stats["ack_p99_ms"],
                    "rss_first_quarter_mib": sum(rss[:quarter]) / quarter / 1024,
                    "rss_last_quarter_mib": sum(rss[-quarter:]) / quarter / 1024,
                    "rss_max_mib": max(rss) / 1024,
                }
        finally:
            process.terminate()
            process.wait(timeout=30)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    burst = result["burst"]
    assert isinstance(burst, dict)
    print(f"database: {result['database']}")
    print(
        f"burst: {burst['drafts']} drafts in {args.seconds:g} s | "
        f"ack p50 {burst['ack_p50_ms']:.1f} ms, p99 {burst['ack_p99_ms']:.1f} ms, "
        f"max {burst['ack_max_ms']:.1f} ms | "
        f"reply p50 {burst['reply_p50_ms']:.1f} ms, p99 {burst['reply_p99_ms']:.1f} ms, "
        f"max {burst['reply_max_ms']:.1f} ms | lost {burst['lost']}, "
        f"duplicated {burst['duplicated']}, failed acks {burst['ack_failures']}"
    )
    soak_result = result.get("soak")
    if isinstance(soak_result, dict):
        print(
            f"soak: {soak_result['seconds']:g} s, {soak_result['drafts']} drafts | "
            f"ack p99 {soak_result['ack_p99_ms']:.1f} ms, "
            f"reply p99 {soak_result['reply_p99_ms']:.1f} ms | "
            f"lost {soak_result['lost']}, duplicated {soak_result['duplicated']} | RSS "
            f"{soak_result['rss_first_quarter_mib']:.1f} MiB (first quarter) → "
            f"{soak_result['rss_last_quarter_mib']:.1f} MiB (last quarter), "
            f"max {soak_result['rss_max_mib']:.1f} MiB"
        )


if __name__ == "__main__":
    main()
