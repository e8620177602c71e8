"""Fixtures for Slack tests: the stub Web API and the real `social-review serve --http` process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from slack_payloads import CHANNEL, SlackSender

from bot.slack.stub import StubSlack

REPO = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "test-signing-secret"


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command(*args: str) -> list[str]:
    """Return the argv of the installed `social-review` command."""
    script = shutil.which("social-review", path=str(Path(sys.executable).parent))
    return [script, *args] if script else [sys.executable, "-m", "bot", *args]


def app_env(stub: StubSlack, database_url: str, **overrides: str) -> dict[str, str]:
    """Return the environment of an app pointed at the stub."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SOCIAL_REVIEW_"))}
    env.update(
        SLACK_BOT_TOKEN=stub.token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=stub.api_url,
        SOCIAL_REVIEW_CHANNELS=CHANNEL,
        SOCIAL_REVIEW_RULES=str(REPO / "rules.yaml"),
        DATABASE_URL=database_url,
    )
    env.update(overrides)
    return env


@dataclass
class Server:
    """A running `social-review serve --http` process."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    slack: SlackSender

    def stop(self) -> int:
        """Stop the process with SIGTERM, as a container runtime would."""
        self.process.terminate()
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def start_server(stub: StubSlack, database_url: str, log: Path) -> Server:
    """Start the app on a free port and wait until /healthz answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            serve_command("serve", "--http", "--host", "127.0.0.1", "--port", str(port)),
            env=app_env(stub, database_url),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return Server(process, url, log, SlackSender(url, SIGNING_SECRET))
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"server did not become healthy:\n{log.read_text()}")


@pytest.fixture(scope="module")
def stub() -> Iterator[StubSlack]:
    """Yield the stub Slack Web API, shared by a module's tests."""
    with StubSlack() as running:
        yield running


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Return a SQLite database for a module's server(s)."""
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'social-review.db'}"


@pytest.fixture(scope="module")
def server_factory(
    stub: StubSlack, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], Server]]:
    """Yield a function starting app processes; all are stopped at the end of the module."""
    started: list[Server] = []

    def start() -> Server:
        log = tmp_path_factory.mktemp("server") / "server.log"
        server = start_server(stub, database_url, log)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


@pytest.fixture(scope="module")
def server(server_factory: Callable[[], Server]) -> Server:
    """Return the module's running app."""
    return server_factory()
