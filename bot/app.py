"""The one place that wires config, rules, store, Slack and threads, for production and tests."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.config import (
    ConfigError,
    SlackConfig,
    cli_locale_from_env,
    database_url_from_env,
    load_slack_config,
    log_settings_from_env,
    rules_path_from_env,
)
from bot.policy.time import TimeRules
from bot.rules import RulesError, RuleSet, find_rules_file, load_rules

log = logging.getLogger("social_review")

EXIT_OK, EXIT_CONFIG = 0, 2


def utc_now() -> datetime:
    """Return the current time, timezone-aware (the production clock)."""
    return datetime.now(UTC)


def _run_at_edge(func: Callable[..., Any], *args: Any) -> None:
    # The one error handler for background work: threads have no caller to report to.
    try:
        func(*args)
    except Exception:
        log.exception("background task %s%r failed", getattr(func, "__name__", func), args)


class RetryWorker(threading.Thread):
    """Re-delivers replies Slack could not take yet, every few seconds, until stopped."""

    def __init__(self, retry_due: Callable[[], int], interval: float = 2.0) -> None:
        super().__init__(name="reply-retry", daemon=True)
        self._retry_due = retry_due
        self._interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        """Retry due replies until stop() is called."""
        while True:
            _run_at_edge(self._retry_due)
            if self._stopped.wait(self._interval):
                return

    def stop(self) -> None:
        """Ask the worker to finish its current round and exit."""
        self._stopped.set()


@dataclass
class Runtime:
    """A running instance of the app: everything wired, plus what must be shut down."""

    config: SlackConfig
    rules: RuleSet
    bolt: Any
    service: Any
    store: Any
    executor: ThreadPoolExecutor
    worker: RetryWorker
    scheduler: Any = None  # the daily reminder (bot.scheduler.ReminderScheduler)
    approvals: Any = None  # manager approvals (bot.services.approvals.ApprovalService)
    # Set when shutdown begins: /readyz answers 503 so load balancers stop sending traffic.
    draining: threading.Event = field(default_factory=threading.Event)
    _closed: bool = field(default=False, repr=False)

    def sync_later(self, draft_id: int) -> None:
        """Bring a draft's reply up to date on a background thread."""
        self.executor.submit(_run_at_edge, self._sync_draft, draft_id)

    def _sync_draft(self, draft_id: int) -> None:
        self.service.sync(draft_id)
        if self.approvals is not None:
            self.approvals.sync_draft(draft_id)

    def sync_approval_later(self, approval_id: int) -> None:
        """Bring an approval request's messages up to date on a background thread."""
        self.executor.submit(_run_at_edge, self.approvals.sync, approval_id)

    def ops(self) -> Any:
        """Return the WSGI app of the ops endpoints alone (Socket Mode's side port)."""
        return self._ops_app(None)

    def wsgi(self) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
        """Return the WSGI application: POST /slack/events, /healthz, /readyz and /metrics."""
        from slack_bolt.adapter.wsgi import SlackRequestHandler

        return self._ops_app(SlackRequestHandler(self.bolt, path="/slack/events"))

    def _ops_app(self, fallback: Any) -> Any:
        from bot.observability import Readiness, ops_app

        readiness = Readiness(
            ping=self.store.ping,
            rules_loaded=lambda: self.rules is not None and bool(self.rules.rules),
            draining=self.draining,
        )
        return ops_app(readiness, fallback=fallback)

    def close(self) -> None:
        """Stop the retry worker, finish in-flight replies and close the database."""
        if self._closed:
            return
        self._closed = True
        self.draining.set()
        if self.scheduler is not None:
            self.scheduler.stop()
        self.worker.stop()
        self.executor.shutdown(wait=True)
        if self.worker.ident is not None:  # tests may never start it
            self.worker.join(timeout=10)
        self.store.close()


def load_rules_for_start(rules_path: str | None) -> RuleSet:
    """Load and validate the rules file named by the config (RulesError stops the start)."""
    return load_rules(find_rules_file(None, rules_path))


def build_runtime(
    config: SlackConfig,
    rules: RuleSet,
    clock: Callable[[], datetime] = utc_now,
    retry_interval: float = 2.0,
    sync_threads: int = 8,
) -> Runtime:
    """Wire the Bolt app, the store, the publisher and the background threads."""
    from bot.observability import InstrumentedReviewer
    from bot.services.review import DraftReviewService
    from bot.slack.listeners import ListenerDeps, register
    from bot.slack.publisher import SlackPublisher, make_web_client
    from bot.store import open_store

    store = open_store(config.database_url, clock())
    client = make_web_client(config.bot_token, config.api_url)
    time_rules = TimeRules(rules.model.time)
    service = DraftReviewService(
        store=store,
        rules=InstrumentedReviewer(rules),
        publisher=SlackPublisher(client),
        clock=clock,
        time_rules=time_rules,
    )
    try:
        bolt = _bolt_app(config, client)
    except BaseException:
        store.close()
        raise

    executor = ThreadPoolExecutor(max_workers=sync_threads, thread_name_prefix="reply-sync")
    approvals = _approvals(rules, store, client, service, clock, time_rules)
    follow = _follow(rules, store, client, service, approvals, clock, config.channels)

    def background() -> int:
        # Until a scheduler owns it, the approval sweep rides on the reply-retry thread.
        return service.retry_due() + approvals.background()

    worker = RetryWorker(background, interval=retry_interval)
    time_service, scheduler = _time_budget(config, rules, time_rules, store, client, clock)
    if config.retention_days > 0:
        scheduler.add_housekeeping(
            "retention-purge", _retention_purge(store, clock, config.retention_days), minutes=60
        )
    runtime = Runtime(config, rules, bolt, service, store, executor, worker, scheduler, approvals)
    deps = ListenerDeps(
        service,
        config.channels,
        runtime.sync_later,
        time=time_service,
        approvals=approvals,
        sync_approval_later=runtime.sync_approval_later,
        follow=follow,
    )
    register(bolt, deps)
    return runtime


# -- manager approvals (issue 4): requests, the sweep, `social-review audit` -----------------------


def _approvals(
    rules: RuleSet,
    store: Any,
    client: Any,
    service: Any,
    clock: Callable[[], datetime],
    time_rules: TimeRules,
) -> Any:
    """Wire the approval service: policy from rules.yaml, user groups and messages via Slack."""
    from bot.observability import observe_decision
    from bot.policy.approvers import ApproverDirectory
    from bot.services.approvals import ApprovalService
    from bot.slack.approval_publisher import SlackApprovalPublisher, usergroup_fetcher

    directory = ApproverDirectory(rules.model.approvals, usergroup_fetcher(client), clock)
    return ApprovalService(
        store=store,
        drafts=service,
        directory=directory,
        publisher=SlackApprovalPublisher(client),
        clock=clock,
        # Re-announce after N *working* hours of the company's own calendar (rules.yaml time:).
        hours_after=time_rules.working_hours_after,
        bot_user_ids=_bot_user_ids(client),
        on_decided=observe_decision,
    )


def _retention_purge(store: Any, clock: Callable[[], datetime], days: int) -> Callable[[], int]:
    """Return the job that blanks stored draft text older than `days` (drafts are personal data)."""
    from datetime import timedelta

    from bot.observability import METRICS

    def purge() -> int:
        purged = store.purge_draft_text(clock() - timedelta(days=days))
        if purged:
            METRICS.draft_text_purged.inc(purged)
            log.info(
                "retention: blanked %d stored copies of draft text older than %d days", purged, days
            )
        return purged

    return purge


def _bot_user_ids(client: Any) -> frozenset[str]:
    """Return this app's own bot user id, so a click or vote by the bot never counts."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    try:
        user_id = client.auth_test().get("user_id")
    except (SlackApiError, SlackClientError) as exc:
        # Start anyway: approvers are listed by id, and the bot is never listed.
        logging.getLogger(__name__).warning("auth.test failed, bot id unknown: %s", exc)
        return frozenset()
    return frozenset([user_id]) if user_id else frozenset()


# -- follow policy (issue 6): /social-follow, and drafts that announce a follow -----------------


def _follow(
    rules: RuleSet,
    store: Any,
    client: Any,
    service: Any,
    approvals: Any,
    clock: Callable[[], datetime],
    channels: frozenset[str],
) -> Any:
    """Wire the follow assistant; "ask a manager" goes through the approval service."""
    from bot.services.follow import FollowService
    from bot.slack.follow_publisher import SlackFollowPublisher

    follow = FollowService(
        policy=rules.model.follow,
        store=store,
        approvals=approvals,
        publisher=SlackFollowPublisher(client),
        clock=clock,
        locale=rules.locale,
        channels=channels,
    )
    service.follow_check = follow.draft_findings
    return follow


_AUDIT_TEXT = {
    "bad_date": {
        "ja": "--since は YYYY-MM-DD の形で指定してください: {value}",
        "en": "--since must be a date like YYYY-MM-DD: {value}",
    },
}
AUDIT_FIELDS = (
    "at",
    "event",
    "approval_id",
    "actor",
    "note",
    "channel",
    "draft_ts",
    "author_id",
    "review_no",
    "text_hash",
    "state",
)


def audit_command(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Export every approval request, vote, decision, staleness, reminder and expiry."""
    import csv
    from dataclasses import asdict

    from bot.store import open_store

    out = out or sys.stdout
    err = err or sys.stderr
    since = None
    if getattr(args, "since", None):
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            locale = cli_locale_from_env() or "ja"
            print(_AUDIT_TEXT["bad_date"][locale].format(value=args.since), file=err)
            return EXIT_CONFIG
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)  # a bare date means midnight UTC
    store = open_store(database_url_from_env(), utc_now())
    try:
        rows = [asdict(r) | {"at": r.at.isoformat()} for r in store.audit(since)]
    finally:
        store.close()
    if getattr(args, "format", "csv") == "json":
        json.dump(rows, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return EXIT_OK
    writer = csv.DictWriter(out, fieldnames=AUDIT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return EXIT_OK


# -- time budget (issue 5): /social-time, the daily reminder, `social-review report` -------------


def _time_budget(
    config: SlackConfig,
    rules: RuleSet,
    time_rules: TimeRules,
    store: Any,
    client: Any,
    clock: Callable[[], datetime],
) -> tuple[Any, Any]:
    """Wire /social-time and the reminder scheduler (started by serve, stopped by close)."""
    from bot.scheduler import ReminderScheduler
    from bot.services.reminders import ReminderService
    from bot.services.report import build_report, report_png
    from bot.services.time_budget import TimeBudgetService
    from bot.slack.reminder_publisher import SlackReminderNotifier

    def weekly_chart(first: Any, last: Any) -> tuple[bytes, str]:
        report = build_report(store, time_rules, first, last, period="week")
        return report_png(report, rules.locale), f"social-time {first} – {last}"

    # Issue 4's store counts approvals still pending; without it the reminder leaves them out.
    pending = getattr(store, "pending_approvals", None)
    reminders = ReminderService(
        store=store,
        rules=time_rules,
        notifier=SlackReminderNotifier(client),
        clock=clock,
        locale=rules.locale,
        channel=min(config.channels) if config.channels else None,
        pending_approvals=(lambda: len(pending(1000))) if pending else None,
        weekly_chart=weekly_chart,
    )
    scheduler = ReminderScheduler(reminders.run_due, time_rules, clock)
    return TimeBudgetService(store=store, rules=time_rules, clock=clock), scheduler


_REPORT_TEXT = {
    "png_needs_output": {
        "ja": "--format png には --output FILE が必要です。",
        "en": "--format png needs --output FILE.",
    },
    "rules": {"ja": "ルールファイルに問題があります:", "en": "The rules file has problems:"},
}


def report_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print or write time per person against budget and findings by category."""
    from bot.services.report import (
        build_report,
        period_bounds,
        report_csv,
        report_json,
        report_png,
    )
    from bot.store import open_store

    out = out or sys.stdout
    locale = cli_locale_from_env()
    try:
        rules = load_rules_for_start(rules_path_from_env())
    except RulesError as exc:
        _problems(sys.stderr, _REPORT_TEXT["rules"][locale or "ja"], str(exc).splitlines())
        return EXIT_CONFIG
    locale = locale or rules.locale
    fmt = getattr(args, "format", "csv")
    if fmt == "png" and not args.output:
        print(_REPORT_TEXT["png_needs_output"][locale], file=sys.stderr)
        return EXIT_CONFIG
    time_rules = TimeRules(rules.model.time)
    period = getattr(args, "period", None) or "week"
    first, last = period_bounds(time_rules, time_rules.today(utc_now()), period)
    store = open_store(database_url_from_env(), utc_now())
    try:
        report = build_report(store, time_rules, first, last, period)
    finally:
        store.close()
    if fmt == "png":
        with open(args.output, "wb") as f:
            f.write(report_png(report, locale))
        return EXIT_OK
    text = report_json(report) if fmt == "json" else report_csv(report)
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    else:
        out.write(text)
    return EXIT_OK


def _bolt_app(config: SlackConfig, client: Any) -> Any:
    from slack_bolt import App

    bolt = App(
        client=client,
        signing_secret=config.signing_secret or "",
        request_verification_enabled=config.mode == "http",
        # Listeners run before Slack gets its 200: a draft is stored before Slack counts it
        # delivered. Slow work (posting the reply) goes to our own executor.
        process_before_response=True,
        logger=logging.getLogger("social_review.bolt"),
    )

    @bolt.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        # Bolt answers 500 for an event whose listener failed, so Slack delivers it again.
        kind = body.get("event", {}).get("type") or body.get("type")
        log.error("listener failed on %s: %s", kind, error, exc_info=error)

    return bolt


def _problems(err: TextIO, title: str, problems: Iterable[str]) -> None:
    print(title, file=err)
    for problem in problems:
        print(f"  - {problem}", file=err)


_START_TEXT = {
    "config": {
        "ja": "設定に問題があるため起動できません:",
        "en": "Cannot start: the configuration has problems:",
    },
    "rules": {
        "ja": "ルールファイルに問題があるため起動できません:",
        "en": "Cannot start: the rules file has problems:",
    },
    "slack": {
        "ja": "Slack に接続できないため起動できません: {detail}",
        "en": "Cannot start: Slack refused the connection: {detail}",
    },
    "port": {
        "ja": "ポート {port} を使えないため起動できません: {detail}",
        "en": "Cannot start: port {port} is not available: {detail}",
    },
}


def _start_text(key: str) -> str:
    entry = _START_TEXT[key]
    return entry[cli_locale_from_env() or "ja"]


def serve_command(args: argparse.Namespace, err: TextIO | None = None) -> int:
    """Run the Slack app: Socket Mode by default, HTTP (waitress) with --http."""
    from bot.observability import setup_logging

    err = err or sys.stderr
    settings = log_settings_from_env()
    setup_logging(settings.format, settings.level, settings.drafts)
    try:
        config = load_slack_config(http=bool(args.http))
    except ConfigError as exc:
        _problems(err, _start_text("config"), exc.problems)
        return EXIT_CONFIG
    try:
        rules = load_rules_for_start(config.rules_path)
    except RulesError as exc:
        _problems(err, _start_text("rules"), str(exc).splitlines())
        return EXIT_CONFIG

    from slack_bolt.error import BoltError

    try:
        runtime = build_runtime(config, rules)
    except BoltError as exc:
        print(_start_text("slack").format(detail=exc), file=err)
        return EXIT_CONFIG

    stop = threading.Event()

    def _terminate(signum: int, frame: Any) -> None:
        # Only flags: the serving loop notices within a second and drains (see _serve_http).
        runtime.draining.set()
        stop.set()

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    runtime.worker.start()
    if runtime.scheduler is not None:
        runtime.scheduler.start()
    try:
        if config.mode == "http":
            _serve_http(runtime, args.host, args.port, stop)
        else:
            _serve_socket_mode(runtime, args.host, args.port, stop)
    except OSError as exc:  # the port is taken or not ours to bind
        print(_start_text("port").format(port=args.port, detail=exc), file=err)
        return EXIT_CONFIG
    finally:
        log.info("shutting down: finishing in-flight replies and scheduled jobs")
        runtime.close()
        log.info("stopped")
    return EXIT_OK


def _serve_http(runtime: Runtime, host: str, port: int, stop: threading.Event) -> None:
    """Serve Slack and the ops endpoints with waitress until stop is set, then drain."""
    import time

    import waitress
    from waitress import wasyncore

    server: Any = waitress.create_server(
        runtime.wsgi(), host=host, port=port, threads=16, ident="social-review"
    )
    use_poll = server.adj.asyncore_use_poll
    log.info(
        "serving HTTP on %s:%s (POST /slack/events, GET /healthz /readyz /metrics)", host, port
    )
    try:
        while not stop.is_set():
            wasyncore.loop(
                timeout=server.adj.asyncore_loop_timeout,
                map=server._map,
                use_poll=use_poll,
                count=1,
            )
        log.info("draining: no new connections; finishing requests in flight")
        # Stop listening, but keep the loop turning so the answers in flight reach Slack:
        # an event whose answer is lost is delivered again, and deduplicated, but not lost.
        wasyncore.dispatcher.close(server)
        dispatcher = server.task_dispatcher
        deadline = time.monotonic() + runtime.config.drain_seconds

        def busy() -> bool:
            channels = list(server.active_channels.values())
            return bool(
                dispatcher.active_count
                or dispatcher.queue
                or any(c.requests or c.total_outbufs_len for c in channels)
            )

        while busy() and time.monotonic() < deadline:
            wasyncore.loop(timeout=0.05, map=server._map, use_poll=use_poll, count=1)
    finally:
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        wasyncore.close_all(server._map)


def _serve_socket_mode(runtime: Runtime, host: str, port: int, stop: threading.Event) -> None:
    """Serve Slack over Socket Mode, with the ops endpoints on a side port, until stop is set."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.observability import start_ops_server

    ops = start_ops_server(runtime.ops(), host, port) if port else None
    if ops is not None:
        log.info("ops endpoints on %s:%s (GET /healthz /readyz /metrics)", host, port)
    handler = SocketModeHandler(runtime.bolt, app_token=runtime.config.app_token)
    try:
        log.info("connecting to Slack in Socket Mode")
        handler.connect()
        stop.wait()
        log.info("draining: disconnecting from Slack; finishing events in flight")
    finally:
        handler.close()  # waits for the listeners still running
        if ops is not None:
            ops.shutdown()
            ops.server_close()


_STATS_TEXT = {
    "header": {
        "ja": ("ルール", "ヒット", "問題なし", "最終ヒット"),
        "en": ("rule", "hits", "dismissed", "last hit"),
    },
    "empty": {"ja": "まだ記録がありません。", "en": "Nothing recorded yet."},
}


def rules_stats_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print hits, dismissals and last hit per rule, so admins can spot noisy rules."""
    from bot.store import open_store

    out = out or sys.stdout
    locale = cli_locale_from_env()
    known: list[str] = []
    try:
        rules = load_rules(find_rules_file(None, rules_path_from_env()))
        locale = locale or rules.locale
        known = [rule.id for rule in rules.rules]
    except (RulesError, OSError):
        pass  # statistics come from the database; the rules file only adds rules with no hits
    locale = locale or "ja"

    store = open_store(database_url_from_env(), utc_now())
    try:
        stats = {s.rule_id: s for s in store.rule_stats()}
    finally:
        store.close()
    rows = [
        {
            "rule_id": rule_id,
            "hits": stats[rule_id].hits if rule_id in stats else 0,
            "dismissals": stats[rule_id].dismissals if rule_id in stats else 0,
            "last_hit": (
                stats[rule_id].last_hit.isoformat()
                if rule_id in stats and stats[rule_id].last_hit
                else None
            ),
        }
        for rule_id in [*known, *sorted(set(stats) - set(known))]
    ]
    rows.sort(key=lambda r: (-r["hits"], r["rule_id"]))
    if getattr(args, "format", "text") == "json":
        json.dump(rows, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return EXIT_OK
    if not rows:
        print(_STATS_TEXT["empty"][locale], file=out)
        return EXIT_OK
    header = _STATS_TEXT["header"][locale]
    table = [header] + [
        (r["rule_id"], str(r["hits"]), str(r["dismissals"]), (r["last_hit"] or "-")[:16])
        for r in rows
    ]
    widths = [max(_width(row[i]) for row in table) for i in range(4)]
    for row in table:
        cells = [_pad(row[0], widths[0])] + [
            _pad(c, w, right=True) for c, w in zip(row[1:3], widths[1:3], strict=True)
        ]
        print("  ".join([*cells, row[3]]).rstrip(), file=out)
    return EXIT_OK


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap
