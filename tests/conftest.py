"""Shared fixtures: a store on SQLite and on the real PostgreSQL, each test on a fresh schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

DEFAULT_TEST_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 4, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    """Return a fake clock starting at a fixed instant."""
    return FakeClock()


def _postgres_url() -> str:
    from bot.config import normalize_database_url

    return normalize_database_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_TEST_DATABASE_URL)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[tuple[str, str]]:
    """Yield (url, session prefix) for the PostgreSQL server; fail in CI if it is unreachable."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    url = _postgres_url()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as err:
        engine.dispose()
        message = f"PostgreSQL at {url} is unreachable: {err.orig}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    prefix = f"sr_test_{uuid.uuid4().hex[:8]}"
    yield url, prefix
    # Drop whatever this session left behind, even after a crash mid-test.
    with engine.begin() as conn:
        schemas = conn.execute(
            text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"), {"p": prefix + "%"}
        ).scalars()
        for schema in list(schemas):
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def pg_schema(postgres_server: tuple[str, str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (url, engine kwargs) for a fresh, empty PostgreSQL schema dropped afterwards."""
    from sqlalchemy import create_engine, text

    url, prefix = postgres_server
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield url, {"connect_args": {"options": f"-csearch_path={schema}"}}
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


StoreFactory = Callable[[], Any]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """Return (url, engine kwargs) of an empty database: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}", {}
    return request.getfixturevalue("pg_schema")


@pytest.fixture
def store(store_target: tuple[str, dict[str, Any]], clock: FakeClock) -> Iterator[Any]:
    """Yield a migrated store on each database the contract must hold on."""
    from bot.store import open_store

    url, kwargs = store_target
    opened = open_store(url, clock(), **kwargs)
    yield opened
    opened.close()
