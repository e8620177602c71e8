"""The store contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import inspect, select

from bot.store import NewFinding, open_store
from bot.store.migrations import LATEST_VERSION
from bot.store.schema import metadata, schema_version


def finding(rule_id: str = "overboard.insult", **overrides: Any) -> NewFinding:
    values: dict[str, Any] = {
        "rule_id": rule_id,
        "category": rule_id.split(".")[0],
        "severity": "warning",
        "requires_approval": False,
        "excerpt": "バカ",
        "message": "侮辱",
        "suggestion": None,
        "guideline": "G2",
        "confidence": "high",
    }
    values.update(overrides)
    return NewFinding(**values)


def test_a_redelivered_draft_is_recorded_once(store, clock):
    first = store.add_draft("C1", "1.000001", "U1", "h1", [finding()], clock())
    again = store.add_draft("C1", "1.000001", "U1", "h1", [finding()], clock())
    assert first.changed and not again.changed
    assert again.draft_id == first.draft_id
    assert len(store.findings(first.draft_id, 1)) == 1


def test_concurrent_deliveries_of_one_draft_record_it_once(store, clock):
    results = []

    def deliver() -> None:
        results.append(store.add_draft("C1", "2.000001", "U1", "h", [finding()], clock()))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.changed for r in results) == 1
    assert len({r.draft_id for r in results}) == 1


def test_an_edit_with_the_same_text_changes_nothing(store, clock):
    added = store.add_draft("C1", "3.1", "U1", "h1", [], clock())
    change = store.revise_draft("C1", "3.1", "U1", "h1", "3.5", [], clock())
    assert not change.changed
    assert store.draft("C1", "3.1").revision == 1
    assert change.draft_id == added.draft_id


def test_an_edit_bumps_the_revision_and_stores_the_new_findings(store, clock):
    added = store.add_draft("C1", "4.1", "U1", "h1", [finding()], clock())
    change = store.revise_draft(
        "C1", "4.1", "U1", "h2", "4.5", [finding("collab.x"), finding()], clock()
    )
    state = store.draft("C1", "4.1")
    assert change.changed and state.revision == 2 and state.review_no == 2
    assert [f.rule_id for f in store.findings(added.draft_id, 2)] == [
        "collab.x",
        "overboard.insult",
    ]
    assert [f.rule_id for f in store.findings(added.draft_id, 1)] == ["overboard.insult"]


def test_an_older_edit_arriving_late_is_ignored(store, clock):
    store.add_draft("C1", "5.1", "U1", "h1", [], clock())
    assert store.revise_draft("C1", "5.1", "U1", "h3", "5.9", [], clock()).changed
    assert not store.revise_draft("C1", "5.1", "U1", "h2", "5.5", [], clock()).changed
    assert store.draft("C1", "5.1").revision == 2


def test_an_edit_of_a_draft_never_seen_starts_it(store, clock):
    change = store.revise_draft("C1", "6.1", "U1", "h1", "6.5", [finding()], clock())
    assert change.changed
    assert store.draft("C1", "6.1").revision == 1
    assert not store.add_draft("C1", "6.1", "U1", "h0", [], clock()).changed


def test_only_one_of_two_workers_claims_a_draft(store, clock):
    draft_id = store.add_draft("C1", "7.1", "U1", "h", [], clock()).draft_id
    until = clock() + timedelta(minutes=2)
    assert store.claim(draft_id, "a", clock(), until) is not None
    assert store.claim(draft_id, "b", clock(), until) is None


def test_an_expired_claim_can_be_taken_over(store, clock):
    draft_id = store.add_draft("C1", "8.1", "U1", "h", [], clock()).draft_id
    store.claim(draft_id, "a", clock(), clock() + timedelta(seconds=60))
    clock.advance(61)
    assert store.claim(draft_id, "b", clock(), clock() + timedelta(seconds=60)) is not None
    # The first worker's late writes no longer count.
    store.finish(draft_id, "a", 1, "ok", "8.2")
    assert store.draft("C1", "8.1").synced_revision == 0


def test_finishing_marks_the_draft_up_to_date(store, clock):
    draft_id = store.add_draft("C1", "9.1", "U1", "h", [], clock()).draft_id
    claimed = store.claim(draft_id, "a", clock(), clock() + timedelta(seconds=60))
    assert not store.finish(draft_id, "a", claimed.state.revision, "ok", "9.2")
    after = store.draft("C1", "9.1")
    assert (after.synced_revision, after.reply_ts, after.shown_verdict) == (1, "9.2", "ok")
    assert store.claim(draft_id, "b", clock(), clock() + timedelta(seconds=60)) is None
    assert store.due(clock(), 10) == []


def test_a_claim_brings_the_current_findings_and_finish_reports_newer_work(store, clock):
    draft_id = store.add_draft("C1", "15.1", "U1", "h1", [finding()], clock()).draft_id
    store.revise_draft("C1", "15.1", "U1", "h2", "15.2", [finding("collab.x")], clock())
    claimed = store.claim(draft_id, "a", clock(), clock() + timedelta(seconds=60))
    assert [f.rule_id for f in claimed.findings] == ["collab.x"]
    store.delete_draft("C1", "15.1", clock())
    assert store.finish(draft_id, "a", claimed.state.revision, "warn", "15.3")
    assert store.draft("C1", "15.1").reply_ts == "15.3"


def test_a_postponed_draft_is_due_only_at_its_retry_time(store, clock):
    draft_id = store.add_draft("C1", "10.1", "U1", "h", [], clock()).draft_id
    store.claim(draft_id, "a", clock(), clock() + timedelta(seconds=60))
    store.postpone(draft_id, "a", clock() + timedelta(seconds=30), "chat_postMessage: 500", None)
    assert store.due(clock(), 10) == []
    clock.advance(30)
    assert store.due(clock(), 10) == [draft_id]
    state = store.draft("C1", "10.1")
    assert state.attempts == 1 and state.last_error == "chat_postMessage: 500"


def test_deleting_a_draft_asks_for_its_reply_to_come_down_once(store, clock):
    draft_id = store.add_draft("C1", "11.1", "U1", "h", [], clock()).draft_id
    assert store.delete_draft("C1", "11.1", clock()).changed
    assert not store.delete_draft("C1", "11.1", clock()).changed
    state = store.draft("C1", "11.1")
    assert state.deleted and state.revision == 2 and store.due(clock(), 10) == [draft_id]
    assert not store.revise_draft("C1", "11.1", "U1", "h2", "11.5", [], clock()).changed


def test_the_first_dismissal_of_a_finding_wins(store, clock):
    draft_id = store.add_draft("C1", "12.1", "U1", "h", [finding()], clock()).draft_id
    (stored,) = store.findings(draft_id, 1)
    assert store.dismiss_finding(stored.id, "UALICE", clock()).changed
    assert not store.dismiss_finding(stored.id, "UBOB", clock()).changed
    again = store.finding(stored.id)
    assert again.dismissed_by == "UALICE"
    assert again.dismissed_at == clock()
    assert store.draft("C1", "12.1").revision == 2


def test_rule_stats_count_drafts_dismissals_and_last_hit(store, clock):
    a = store.add_draft("C1", "13.1", "U1", "h", [finding(), finding()], clock()).draft_id
    store.revise_draft("C1", "13.1", "U1", "h2", "13.2", [finding()], clock())
    clock.advance(3600)
    store.add_draft("C1", "13.3", "U1", "h", [finding(), finding("collab.x")], clock())
    store.dismiss_finding(store.findings(a, 1)[0].id, "UALICE", clock())
    stats = {s.rule_id: s for s in store.rule_stats()}
    assert (stats["overboard.insult"].hits, stats["overboard.insult"].dismissals) == (2, 1)
    assert (stats["collab.x"].hits, stats["collab.x"].dismissals) == (1, 0)
    assert stats["overboard.insult"].last_hit == clock()
    assert stats["overboard.insult"].last_hit.tzinfo is not None


def test_two_replicas_migrating_at_once_apply_each_step_once(store_target, clock):
    url, kwargs = store_target
    errors: list[BaseException] = []
    stores = []

    def start() -> None:
        try:
            stores.append(open_store(url, clock(), **kwargs))
        except BaseException as err:  # surfaced by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with stores[0].engine.connect() as conn:
        versions = list(conn.execute(select(schema_version.c.version)).scalars())
    assert versions == list(range(1, LATEST_VERSION + 1))
    for s in stores:
        s.close()


def test_the_migrated_schema_has_every_column_the_queries_use(store):
    inspector = inspect(store.engine)
    for table in metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name


def test_a_naive_datetime_is_refused(store, clock):
    import pytest

    with pytest.raises(Exception, match="naive datetime"):
        store.add_draft("C1", "14.1", "U1", "h", [], clock().replace(tzinfo=None))
    assert store.draft("C1", "14.1") is None
    assert clock().tzinfo is UTC


def test_a_replica_connecting_while_another_writes_a_fresh_sqlite_file_waits_instead_of_failing(
    tmp_path, clock
):
    # A fresh file is in rollback-journal mode; switching it to WAL needs an exclusive lock,
    # and SQLite refuses that at once (no busy wait) while another process holds a write lock.
    import sqlite3
    import subprocess
    import sys

    path = tmp_path / "fresh.db"
    setup = sqlite3.connect(path)
    setup.execute("CREATE TABLE other_writer (x INTEGER)")
    setup.commit()
    setup.close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE'); c.execute('INSERT INTO other_writer VALUES (1)')\n"
            "print('holding', flush=True); time.sleep(0.5); c.execute('COMMIT')\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        store = open_store(f"sqlite:///{path}", clock())
    finally:
        holder.wait(timeout=30)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        versions = list(conn.execute(select(schema_version.c.version)).scalars())
    assert versions == list(range(1, LATEST_VERSION + 1))
    store.close()
