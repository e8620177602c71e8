"""Operating the app: Prometheus metrics, JSON logs without secrets, and the ops HTTP endpoints."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# -- metrics -------------------------------------------------------------------------------------

VERDICTS = ("ok", "warn", "approval", "block")


class Metrics:
    """The app's Prometheus metrics, in a registry of their own (served at /metrics)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.drafts_reviewed = Counter(
            "social_review_drafts_reviewed",
            "Drafts reviewed (channel drafts, edits and private checks), by verdict.",
            ["verdict"],
            registry=self.registry,
        )
        self.findings = Counter(
            "social_review_findings",
            "Findings reported on reviewed drafts, by rule category.",
            ["category"],
            registry=self.registry,
        )
        self.review_seconds = Histogram(
            "social_review_review_seconds",
            "Time the rules engine took to review one draft.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.approval_latency = Histogram(
            "social_review_approval_latency_seconds",
            "Time from an approval request to the manager's decision, by outcome.",
            ["outcome"],
            buckets=(60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800),
            registry=self.registry,
        )
        self.slack_api_errors = Counter(
            "social_review_slack_api_errors",
            "Slack Web API calls that failed (HTTP 429/5xx, connection errors, ok:false).",
            ["method", "error"],
            registry=self.registry,
        )
        self.draft_text_purged = Counter(
            "social_review_draft_text_purged",
            "Stored copies of draft text blanked by the retention purge.",
            registry=self.registry,
        )
        for verdict in VERDICTS:
            self.drafts_reviewed.labels(verdict)
        for outcome in ("approved", "rejected"):
            self.approval_latency.labels(outcome)

    def exposition(self) -> bytes:
        """Return the metrics in the Prometheus text format."""
        return generate_latest(self.registry)


# One registry per process, as Prometheus clients expect; tests read it through /metrics.
METRICS = Metrics()


class InstrumentedReviewer:
    """The rules engine as the services see it, counting verdicts and findings and timing each review."""

    def __init__(self, reviewer: Any, metrics: Metrics = METRICS) -> None:
        self._reviewer = reviewer
        self._metrics = metrics

    @property
    def locale(self) -> str:
        """Return the wrapped engine's locale."""
        return str(self._reviewer.locale)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reviewer, name)

    def review(self, text: str) -> Any:
        """Review one draft and record what came out."""
        started = time.perf_counter()
        review = self._reviewer.review(text)
        self._metrics.review_seconds.observe(time.perf_counter() - started)
        self._metrics.drafts_reviewed.labels(review.verdict).inc()
        for finding in review.findings:
            self._metrics.findings.labels(finding.category).inc()
        return review


def observe_decision(approval: Any, metrics: Metrics = METRICS) -> None:
    """Record how long a decided approval request waited for its decision."""
    if (
        approval is None
        or approval.decided_at is None
        or approval.state
        not in (
            "approved",
            "rejected",
        )
    ):
        return
    waited = (approval.decided_at - approval.created_at).total_seconds()
    metrics.approval_latency.labels(approval.state).observe(max(waited, 0.0))


def slack_method(url: str | None) -> str:
    """Return the Web API method named by a request URL (chat.postMessage), or "unknown"."""
    if not url:
        return "unknown"
    return url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "unknown"


def count_slack_error(method: str, error: str, metrics: Metrics = METRICS) -> None:
    """Count one failed Slack Web API call."""
    metrics.slack_api_errors.labels(method, error).inc()


# -- logs ----------------------------------------------------------------------------------------

# Slack tokens of every kind (bot, user, app-level, refresh, config).
_TOKEN = re.compile(r"\bx(?:ox[a-z]|app)-[A-Za-z0-9-]+")
# A "text" field in a logged payload (a dict repr or JSON): the draft itself.
_TEXT_FIELD = re.compile(r"""(?P<key>(['"])text\2\s*:\s*)(?P<q>['"])(?:\\.|(?!(?P=q)).)*(?P=q)""")


def redact(message: str, keep_drafts: bool = False) -> str:
    """Return message with Slack tokens, and unless keep_drafts any draft text, blanked out."""
    message = _TOKEN.sub(lambda m: m.group(0)[:5] + "[redacted]", message)
    if not keep_drafts:
        message = _TEXT_FIELD.sub(r"\g<key>\g<q>[redacted]\g<q>", message)
    return message


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (redacted), exception."""

    def __init__(self, keep_drafts: bool = False) -> None:
        super().__init__()
        self.keep_drafts = keep_drafts

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage(), self.keep_drafts),
            "thread": record.threadName,
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info), self.keep_drafts)
        return json.dumps(entry, ensure_ascii=False)


class RedactingFormatter(logging.Formatter):
    """The human-readable format for a terminal, with the same redaction as the JSON one."""

    def __init__(self, keep_drafts: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.keep_drafts = keep_drafts

    def format(self, record: logging.LogRecord) -> str:
        """Return the formatted record with secrets (and drafts) blanked out."""
        return redact(super().format(record), self.keep_drafts)


def setup_logging(
    log_format: str = "auto",
    level: str = "INFO",
    keep_drafts: bool = False,
    stream: Any = None,
) -> None:
    """Send every log record to stream (stderr): JSON unless it is a terminal or told otherwise."""
    stream = stream or sys.stderr
    use_json = log_format == "json" or (
        log_format == "auto" and not getattr(stream, "isatty", lambda: False)()
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(keep_drafts) if use_json else RedactingFormatter(keep_drafts)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    if level.upper() != "DEBUG":
        # The SDKs log every request and response body at DEBUG; keep their INFO chatter too.
        for name in ("slack_bolt", "slack_sdk", "social_review.bolt", "apscheduler"):
            logging.getLogger(name).setLevel(logging.WARNING)


# -- the ops endpoints: /healthz, /readyz, /metrics -------------------------------------------------


@dataclass
class Readiness:
    """What /readyz checks: the database answers, the rules are loaded, and we are not stopping."""

    ping: Callable[[], None]
    rules_loaded: Callable[[], bool]
    draining: threading.Event

    def problems(self) -> list[str]:
        """Return why the instance should not get traffic now (empty when ready)."""
        problems = []
        if self.draining.is_set():
            problems.append("shutting down")
        if not self.rules_loaded():
            problems.append("rules not loaded")
        try:
            self.ping()
        except Exception as err:  # any driver error means "not ready"; the reason is reported
            problems.append(f"database unavailable: {type(err).__name__}")
        return problems


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def ops_app(
    readiness: Readiness, metrics: Metrics = METRICS, fallback: WsgiApp | None = None
) -> WsgiApp:
    """Return a WSGI app answering /healthz, /readyz and /metrics, and passing the rest on."""

    def text(start_response: Callable[..., Any], status: str, body: str) -> list[bytes]:
        start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
        return [body.encode()]

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            if path == "/healthz":
                # Liveness: the process answers. The database and Slack belong to /readyz, so
                # an outage of either does not make the orchestrator restart every replica.
                return text(start_response, "200 OK", "ok\n")
            if path == "/readyz":
                problems = readiness.problems()
                if problems:
                    return text(
                        start_response, "503 Service Unavailable", "\n".join(problems) + "\n"
                    )
                return text(start_response, "200 OK", "ready\n")
            if path == "/metrics":
                start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
                return [metrics.exposition()]
        if fallback is not None:
            return fallback(environ, start_response)
        return text(start_response, "404 Not Found", "not found\n")

    return application


def start_ops_server(app: WsgiApp, host: str, port: int) -> Any:
    """Serve app on host:port from a background thread; call shutdown() on the result to stop."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # probes every few seconds would drown the app's own logs

    server = make_server(host, port, app, server_class=Server, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, name="ops-http", daemon=True).start()
    return server
