"""Fixtures of the sandbox tests: a rule-free sandbox, a session, and a callback receiver."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests


@pytest.fixture
def box(make_sandbox: Callable[..., Any]) -> Any:
    """A sandbox with the gap rule off (endpoint tests fire requests back to back)."""
    return make_sandbox(min_interval_ms=0, seed=7)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A pooled session (keep-alive, like the real client)."""
    session = requests.Session()
    session.trust_env = False  # never route 127.0.0.1 through an environment proxy
    yield session
    session.close()


@dataclass
class Received:
    """One request the receiver got."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: bytes

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


class Receiver:
    """A tiny HTTP server recording every request (stands in for the user's callback server)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                item = Received(
                    self.command,
                    split.path,
                    dict(parse_qsl(split.query)),
                    self.headers.get("Content-Type") or "",
                    body,
                )
                status = 500 if split.path.startswith("/broken") else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                with receiver._cond:
                    receiver.received.append(item)
                    receiver._cond.notify_all()

            do_GET = _record
            do_POST = _record

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 5.0
    ) -> list[Received]:
        """Wait until ``predicate(received)`` holds; return a snapshot (fails on timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"receiver timed out; got {self.received!r}")
                self._cond.wait(left)
            return list(self.received)

    def on(self, path: str) -> list[Received]:
        """Requests received on ``path`` so far."""
        with self._cond:
            return [r for r in self.received if r.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running callback receiver; closed afterwards."""
    rec = Receiver()
    yield rec
    rec.close()


def _wait_until(predicate: Callable[[], bool], timeout: float = 5.0, step: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)


@pytest.fixture
def wait_until() -> Callable[..., None]:
    """``wait_until(predicate, timeout=5)``: poll until true, fail on timeout."""
    return _wait_until
