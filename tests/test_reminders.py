"""The daily reminder: working days only, once across replicas and restarts, kind DMs when over."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest

from bot.policy.time import TimePolicy, TimeRules
from bot.scheduler import ReminderScheduler, reminder_trigger
from bot.services.reminders import (
    DAILY,
    OVER_BUDGET,
    DailyDigest,
    OverBudgetNote,
    ReminderService,
)
from bot.services.review import DeliveryError
from bot.store import open_store

JST = TimeRules().tz


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST).astimezone(UTC)


@dataclass
class RecordingNotifier:
    """Keeps what would have gone to Slack; can be told to fail."""

    digests: list[tuple[str, DailyDigest]] = field(default_factory=list)
    dms: list[OverBudgetNote] = field(default_factory=list)
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post_digest(self, channel: str, digest: DailyDigest) -> None:
        with self.lock:
            if self.failures:
                self.failures -= 1
                raise DeliveryError("chat.postMessage: http_500")
            self.digests.append((channel, digest))

    def send_over_budget(self, note: OverBudgetNote) -> None:
        with self.lock:
            self.dms.append(note)

    def post_chart(self, channel: str, png: bytes, title: str, filename: str) -> None:
        raise AssertionError("no chart configured")


POLICY = TimePolicy(company_holidays=["2025-04-10"], budget={"daily_minutes": 30})


def make_service(store, clock, notifier=None, policy=POLICY) -> ReminderService:
    return ReminderService(
        store=store,
        rules=TimeRules(policy),
        notifier=notifier or RecordingNotifier(),
        clock=clock,
        locale="ja",
        channel="CREVIEW01",
    )


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


def test_the_reminder_fires_on_a_working_day_at_the_reminder_time(store, clock, notifier):
    service = make_service(store, clock, notifier)
    clock.now = jst(2025, 4, 1, 9, 29)  # Tuesday
    assert service.run_due() == []
    clock.now = jst(2025, 4, 1, 9, 30)
    assert service.run_due() == [DAILY]
    ((channel, digest),) = notifier.digests
    assert (channel, digest.today, digest.previous_day) == (
        "CREVIEW01",
        date(2025, 4, 1),
        date(2025, 3, 31),
    )
    assert service.run_due() == []
    assert len(notifier.digests) == 1


@pytest.mark.parametrize(
    "day",
    [
        date(2025, 4, 5),  # Saturday
        date(2025, 4, 6),  # Sunday
        date(2025, 4, 29),  # Shōwa Day (public holiday)
        date(2025, 4, 10),  # company holiday in rules.yaml
    ],
)
def test_no_reminder_on_weekends_public_or_company_holidays(store, clock, notifier, day):
    service = make_service(store, clock, notifier)
    clock.now = jst(day.year, day.month, day.day, 9, 30)
    assert service.run_due() == []
    assert notifier.digests == []


def test_a_bot_started_late_within_the_grace_window_still_sends_it_once(store, clock, notifier):
    clock.now = jst(2025, 4, 1, 11, 0)  # 90 minutes late; grace is 120
    assert make_service(store, clock, notifier).run_due() == [DAILY]
    assert make_service(store, clock, notifier).run_due() == []  # a restart sends nothing more
    assert len(notifier.digests) == 1


def test_a_reminder_missed_by_more_than_the_grace_window_is_not_sent(store, clock, notifier):
    clock.now = jst(2025, 4, 1, 11, 31)
    assert make_service(store, clock, notifier).run_due() == []
    assert store.reminder(DAILY, date(2025, 4, 1)) is None


def test_a_claim_never_sent_is_retried_after_its_claim_expires(store, clock, notifier):
    service = make_service(store, clock, notifier)
    clock.now = jst(2025, 4, 1, 9, 30)
    token = "crashed-replica"
    assert store.claim_reminder(DAILY, date(2025, 4, 1), token, clock(), clock())
    clock.advance(1)  # the replica that claimed it died before sending
    assert service.run_due() == [DAILY]
    record = store.reminder(DAILY, date(2025, 4, 1))
    assert record.sent_at == clock() and record.attempts == 2


def test_a_failed_send_is_retried_later_even_after_the_grace_window(store, clock, notifier):
    notifier.failures = 1
    service = make_service(store, clock, notifier)
    clock.now = jst(2025, 4, 1, 11, 29)
    assert service.run_due() == []
    assert "http_500" in store.reminder(DAILY, date(2025, 4, 1)).last_error
    clock.advance(60)
    assert service.run_due() == []  # not before its retry time
    clock.advance(300)
    assert service.run_due() == [DAILY]
    assert len(notifier.digests) == 1


def test_two_replicas_racing_send_exactly_one_reminder(store_target, clock, notifier):
    url, kwargs = store_target
    clock.now = jst(2025, 4, 1, 9, 30)
    stores = [open_store(url, clock(), **kwargs) for _ in range(2)]
    services = [make_service(s, clock, notifier) for s in stores]
    barrier = threading.Barrier(len(services) * 3)
    results: list[list[str]] = []

    def replica(service: ReminderService) -> None:
        barrier.wait()
        results.append(service.run_due())

    threads = [threading.Thread(target=replica, args=(s,)) for s in services * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert sorted(r for r in results if r) == [[DAILY]]
    assert len(notifier.digests) == 1


def test_yesterday_is_logged_or_estimated_and_over_budget_people_get_one_kind_dm(
    store, clock, notifier
):
    monday = date(2025, 3, 31)
    clock.now = jst(2025, 3, 31, 11, 0)
    store.add_time("UALICE01", monday, 45, "返信対応", clock())
    for i in range(2):
        store.add_draft("CREVIEW01", f"1.{i}", "UBOB0001", "h", [], clock())
    for i in range(8):
        store.add_draft("CREVIEW01", f"2.{i}", "UCAROL01", "h", [], clock())
    store.add_time("UCAROL01", monday, 10, None, clock())  # logged wins over the estimate
    clock.now = jst(2025, 4, 1, 9, 30)
    service = make_service(store, clock, notifier)
    assert service.run_due() == [DAILY, OVER_BUDGET + "UALICE01"]
    ((_, digest),) = notifier.digests
    people = {u.user_id: (u.minutes, u.source, u.over) for u in digest.people}
    assert people == {
        "UALICE01": (45, "logged", 15),
        "UBOB0001": (10, "estimated", 0),
        "UCAROL01": (10, "logged", 0),
    }
    assert digest.drafts_reviewed == 10
    assert digest.pending_approvals is None  # no approvals hook wired in this test
    (dm,) = notifier.dms
    assert (dm.usage.user_id, dm.usage.minutes, dm.usage.budget) == ("UALICE01", 45, 30)
    clock.advance(600)
    assert service.run_due() == []
    assert len(notifier.dms) == 1


def test_the_digest_counts_pending_approvals_through_the_hook(store, clock, notifier):
    service = make_service(store, clock, notifier)
    service.pending_approvals = lambda: 2
    clock.now = jst(2025, 4, 1, 9, 30)
    service.run_due()
    assert notifier.digests[0][1].pending_approvals == 2


def test_the_scheduler_uses_day_names_and_the_local_reminder_time():
    rules = TimeRules()
    trigger = reminder_trigger(rules)
    assert str(trigger.fields[4]) == "mon,tue,wed,thu,fri"  # day_of_week, by name
    saturday = datetime(2025, 4, 5, 12, 0, tzinfo=JST)
    assert trigger.get_next_fire_time(None, saturday) == datetime(2025, 4, 7, 9, 30, tzinfo=JST)


def test_the_scheduler_runs_the_catch_up_at_start_and_stops_cleanly():
    ran = threading.Event()

    def run_due() -> list[str]:
        ran.set()
        return []

    scheduler = ReminderScheduler(run_due, TimeRules(), lambda: datetime.now(UTC))
    scheduler.start()
    try:
        assert ran.wait(10)
        assert scheduler.next_reminder() is not None
    finally:
        scheduler.stop()
    assert not scheduler.scheduler.running


_REPLICA = """
import json, sys, time
from datetime import UTC, datetime
from bot.policy.time import TimePolicy, TimeRules
from bot.services.reminders import ReminderService
from bot.store import open_store

url, kwargs, out, go = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], float(sys.argv[4])
now = datetime(2025, 4, 1, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo, a working Tuesday


class FileNotifier:
    def post_digest(self, channel, digest):
        with open(out, "a") as f:
            f.write(channel + "\\n")

    def send_over_budget(self, note):
        pass

    def post_chart(self, channel, png, title, filename):
        pass


store = open_store(url, now, **kwargs)
service = ReminderService(
    store=store, rules=TimeRules(TimePolicy()), notifier=FileNotifier(),
    clock=lambda: now, locale="ja", channel="CREVIEW01",
)
while time.time() < go:  # both replicas start the race at the same instant
    time.sleep(0.001)
print(json.dumps(service.run_due()))
store.close()
"""


def test_two_bot_processes_sharing_one_database_send_exactly_one_reminder(store_target, tmp_path):
    import json
    import subprocess
    import sys
    import time

    url, kwargs = store_target
    out = tmp_path / "sent.txt"
    go = time.time() + 3  # time for both interpreters to import and connect
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _REPLICA, url, json.dumps(kwargs), str(out), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    assert sorted(results) == [[], [DAILY]]
    assert out.read_text().splitlines() == ["CREVIEW01"]
