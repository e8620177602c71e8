"""A small stand-in for the Slack Web API on 127.0.0.1, for tests, benchmarks and staging.

Point SLACK_API_URL (the SDK's base_url) at `StubSlack.api_url`. It answers the methods the
app uses the way Slack does, records every call, and can be told to fail: HTTP 429 with
Retry-After, 5xx, a Slack error such as `channel_not_found`, or a reset connection.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from slack_sdk.signature import SignatureVerifier


@dataclass(frozen=True)
class Call:
    """One request the stub received."""

    method: str
    params: dict[str, Any]
    status: int
    at: float  # time.monotonic() when it arrived


@dataclass
class _Fault:
    status: int
    error: str | None
    retry_after: int | None
    reset: bool
    remaining: int


@dataclass
class _State:
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    reactions: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    faults: dict[str, list[_Fault]] = field(default_factory=dict)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)


def sign(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Return the headers Slack sends with body: content type, timestamp and signature."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


class StubSlack:
    """The stub server: start() it, use api_url, inspect calls, inject failures."""

    def __init__(
        self,
        token: str = "xoxb-test-token",
        bot_user_id: str = "UBOT0001",
        bot_id: str = "BBOT0001",
        team_id: str = "T00000001",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self._lock = threading.Condition()
        self._state = _State()
        self._ts = itertools.count(1)
        # User groups for usergroups.users.list: id -> member ids (absent: no_such_subteam).
        self.usergroups: dict[str, list[str]] = {}
        # Methods whose calls wait (unanswered) until release(): work "in flight" for tests.
        self._holds: dict[str, threading.Event] = {}
        self._waiting: dict[str, int] = {}
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """Return the Web API base URL to give the SDK (ends with /api/)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/"

    def response_url(self, name: str = "r") -> str:
        """Return a response_url (as in slash command and shortcut payloads) served here."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/response/{name}"

    def start(self) -> StubSlack:
        """Serve on a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="stub-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (answering any held calls first)."""
        with self._lock:
            gates, self._holds = list(self._holds.values()), {}
        for gate in gates:
            gate.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StubSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inspection ----------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Return every call so far, in arrival order."""
        with self._lock:
            return list(self._state.calls)

    def calls_to(self, method: str, ok_only: bool = True) -> list[Call]:
        """Return the calls to one method (only those answered 200 unless ok_only is False)."""
        return [c for c in self.calls if c.method == method and (c.status == 200 or not ok_only)]

    def messages(self, channel: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
        """Return the messages the bot has posted and not deleted, by (channel, ts)."""
        with self._lock:
            return {
                key: dict(value)
                for key, value in self._state.messages.items()
                if channel is None or key[0] == channel
            }

    def files(self) -> dict[str, dict[str, Any]]:
        """Return uploaded files by id: filename, title, bytes (`content`) and channel."""
        with self._lock:
            return {key: dict(value) for key, value in self._state.uploads.items()}

    def reactions(self, channel: str, ts: str) -> set[str]:
        """Return the reactions the bot has on a message."""
        with self._lock:
            return set(self._state.reactions.get((channel, ts), set()))

    def wait_for(self, predicate: Callable[[StubSlack], bool], timeout: float = 10.0) -> bool:
        """Wait until predicate(stub) holds after some call, or timeout; return whether it held."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._lock:
                self._lock.wait(min(left, 0.05))
        return True

    def reset(self) -> None:
        """Forget every call, message, reaction and pending fault."""
        with self._lock:
            self._state = _State()

    # -- fault injection --------------------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int = 500,
        times: int = 1,
        error: str | None = None,
        retry_after: int | None = None,
        reset: bool = False,
    ) -> None:
        """Make the next `times` calls to method fail with status (429 sends Retry-After)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._state.faults.setdefault(method, []).append(
                _Fault(status, error, retry_after, reset, times)
            )

    def hold(self, method: str) -> None:
        """Keep every call to method waiting, unanswered, until release(method)."""
        with self._lock:
            self._holds[method] = threading.Event()

    def release(self, method: str) -> None:
        """Answer the held calls to method, and every later one, at once again."""
        with self._lock:
            gate = self._holds.pop(method, None)
        if gate is not None:
            gate.set()

    def held(self, method: str) -> int:
        """Return how many calls to method are waiting in a hold."""
        with self._lock:
            return self._waiting.get(method, 0)

    def _wait_if_held(self, method: str) -> None:
        with self._lock:
            gate = self._holds.get(method)
            if gate is None:
                return
            self._waiting[method] = self._waiting.get(method, 0) + 1
            self._lock.notify_all()
        gate.wait()
        with self._lock:
            self._waiting[method] -= 1

    def _take_fault(self, method: str) -> _Fault | None:
        faults = self._state.faults.get(method) or []
        if not faults:
            return None
        fault = faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            faults.pop(0)
        return fault

    # -- the API ------------------------------------------------------------------------------

    def _new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        state = self._state
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://stub.slack.test/",
                "team": "Stub",
                "user": "social-review",
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "bot_id": self.bot_id,
                "is_enterprise_install": False,
            }
        channel = str(p.get("channel", ""))
        if method == "chat.postMessage":
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            if not p.get("text") and not p.get("blocks"):
                return {"ok": False, "error": "no_text"}
            ts = self._new_ts()
            message = {
                "type": "message",
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
                "text": p.get("text", ""),
                "blocks": p.get("blocks", []),
                "ts": ts,
                "thread_ts": p.get("thread_ts"),
            }
            state.messages[(channel, ts)] = message
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "chat.update":
            key = (channel, str(p.get("ts", "")))
            if key not in state.messages:
                return {"ok": False, "error": "message_not_found"}
            state.messages[key].update(text=p.get("text", ""), blocks=p.get("blocks", []))
            return {"ok": True, "channel": channel, "ts": key[1], "text": p.get("text", "")}
        if method == "chat.delete":
            key = (channel, str(p.get("ts", "")))
            if state.messages.pop(key, None) is None:
                return {"ok": False, "error": "message_not_found"}
            return {"ok": True, "channel": channel, "ts": key[1]}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._new_ts()}
        if method in ("reactions.add", "reactions.remove"):
            key = (channel, str(p.get("timestamp", "")))
            names = state.reactions.setdefault(key, set())
            name = str(p.get("name", ""))
            if method == "reactions.add":
                if name in names:
                    return {"ok": False, "error": "already_reacted"}
                names.add(name)
            else:
                if name not in names:
                    return {"ok": False, "error": "no_reaction"}
                names.discard(name)
            return {"ok": True}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):08d}"
            state.uploads[file_id] = {"filename": p.get("filename"), "content": b""}
            host, port = self._server.server_address[:2]
            return {
                "ok": True,
                "upload_url": f"http://{host}:{port}/upload/{file_id}",
                "file_id": file_id,
            }
        if method == "files.completeUploadExternal":
            files = p.get("files")
            files = json.loads(files) if isinstance(files, str) else files or []
            for item in files:
                upload = state.uploads.get(item.get("id"))
                if upload is None:
                    return {"ok": False, "error": "file_not_found"}
                upload.update(title=item.get("title"), channel=p.get("channel_id"))
            return {
                "ok": True,
                "files": [{"id": f.get("id"), "title": f.get("title")} for f in files],
            }
        if method == "usergroups.users.list":
            members = self.usergroups.get(str(p.get("usergroup", "")))
            if members is None:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(members)}
        if method in ("views.open", "views.publish", "views.update"):
            if method == "views.open" and not p.get("trigger_id"):
                return {"ok": False, "error": "invalid_trigger_id"}
            view = p.get("view") or {}
            if isinstance(view, str):
                view = json.loads(view)
                p["view"] = view  # recorded calls show the view as an object
            return {"ok": True, "view": {"id": f"V{next(self._ts):08d}", **view}}
        return {"ok": False, "error": "unknown_method"}

    def _upload(self, path: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        # Step 2 of files_upload_v2: the bytes go to the URL files.getUploadURLExternal gave.
        with self._lock:
            upload = self._state.uploads.get(path[len("/upload/") :])
            if upload is not None:
                upload["content"] = raw
            self._state.calls.append(Call("upload", {"path": path}, 200, time.monotonic()))
            self._lock.notify_all()
        return 200, {"Content-Type": "text/plain"}, f"OK - {len(raw)}".encode()

    def _handle(self, path: str, headers: Any, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        content_type = headers.get("Content-Type", "")
        if path.startswith("/upload/"):
            return self._upload(path, raw)
        text = raw.decode("utf-8") if raw else ""
        if "json" in content_type:
            params: dict[str, Any] = json.loads(text) if text else {}
        else:
            params = dict(parse_qsl(text))
            for key in ("blocks", "attachments", "view"):
                if isinstance(params.get(key), str):
                    params[key] = json.loads(params[key])

        if path.startswith("/response/"):
            method = "response_url"
        elif path.startswith("/api/"):
            method = path[len("/api/") :].split("?")[0]
        else:
            return 404, {}, b"not found"

        self._wait_if_held(method)
        with self._lock:
            fault = self._take_fault(method)
            status = 200 if fault is None else fault.status
            if fault is not None and fault.reset:
                status = 0
            self._state.calls.append(Call(method, params, status, time.monotonic()))
            if fault is not None:
                self._lock.notify_all()
                if fault.reset:
                    return 0, {}, b""
                extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                if fault.status == 200:
                    body = {"ok": False, "error": fault.error or "internal_error"}
                else:
                    body = {"ok": False, "error": fault.error or f"http_{fault.status}"}
                return fault.status, extra, json.dumps(body).encode()
            if method == "response_url":
                self._lock.notify_all()
                return 200, {"Content-Type": "text/html"}, b"ok"
            auth = headers.get("Authorization", "")
            if auth != f"Bearer {self.token}":
                answer: dict[str, Any] = {"ok": False, "error": "invalid_auth"}
            else:
                answer = self._answer(method, params)
            self._lock.notify_all()
        return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(answer).encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, headers, body = stub._handle(self.path, self.headers, raw)
                if status == 0:  # an injected connection reset: hang up without answering
                    self.close_connection = True
                    return
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test and benchmark output clean

        return Handler


def main() -> None:
    """Run the stub until interrupted (for staging: point SLACK_API_URL at it)."""
    parser = argparse.ArgumentParser(description="Stub of the Slack Web API")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--token", default="xoxb-test-token")
    args = parser.parse_args()
    stub = StubSlack(token=args.token, port=args.port).start()
    print(f"stub Slack Web API at {stub.api_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        stub.stop()


if __name__ == "__main__":
    main()
