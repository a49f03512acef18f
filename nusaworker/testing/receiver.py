"""A real HTTP endpoint in a thread, standing in for a user's server (webhooks, alerts, pushes).

The product is tested against it over real HTTP: a ``ThreadingHTTPServer`` on 127.0.0.1 and a
free port records every request and answers with the status the test scripted::

    with Receiver(statuses=[503]) as receiver:           # the first request gets a 503
        WebhookSink(f"{receiver.url}/alerts", ...).send(alert)
        [first, retry] = receiver.wait(lambda got: len(got) == 2)

The status of a request is, in this order: the next of ``statuses`` (each used once), else
``respond(request, earlier_requests)`` if given, else ``status``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

NO_BODY_STATUSES = frozenset({204, 304})


@dataclass(frozen=True)
class Request:
    """One request the receiver got."""

    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # as sent; ``header()`` looks a name up case-insensitively
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        """The value of header ``name`` (any case), or ``default``."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), default)

    @property
    def content_type(self) -> str:
        return self.header("Content-Type")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The body parsed as ``application/x-www-form-urlencoded``."""
        return dict(parse_qsl(self.body.decode()))


Respond = Callable[[Request, Sequence[Request]], int]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        with self.receiver._cond:
            self.receiver.connections.append(conn)
        return conn, addr


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the servers the product talks to
    server: _Server

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=split.path,
            query=dict(parse_qsl(split.query)),
            headers=dict(self.headers.items()),
            body=body,
        )
        status = self.server.receiver._record(request)
        self.send_response(status)
        reply = b"" if status in NO_BODY_STATUSES or self.command == "HEAD" else b"ok"
        if status not in NO_BODY_STATUSES:
            self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test reads ``requests``; a line per request on stderr is noise


class Receiver:
    """A running HTTP endpoint that records every request (see the module docstring).

    ``connections`` are the accepted sockets, in order (a test may close one under the client).
    Stop it with ``close()`` or use it as a context manager.
    """

    def __init__(
        self,
        *,
        statuses: Iterable[int] = (),
        respond: Respond | None = None,
        status: int = 200,
    ) -> None:
        self.statuses: list[int] = list(statuses)
        self.respond = respond
        self.status = status
        self.connections: list[socket.socket] = []
        self._requests: list[Request] = []
        self._cond = threading.Condition()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _record(self, request: Request) -> int:
        with self._cond:
            earlier = list(self._requests)
            self._requests.append(request)
            self._cond.notify_all()
            if self.statuses:
                return self.statuses.pop(0)
        return self.respond(request, earlier) if self.respond else self.status

    @property
    def requests(self) -> list[Request]:
        """Every request so far, in arrival order (a snapshot)."""
        with self._cond:
            return list(self._requests)

    def on(self, path: str) -> list[Request]:
        """The requests on ``path`` so far."""
        return [r for r in self.requests if r.path == path]

    def wait(
        self, predicate: Callable[[list[Request]], object], timeout: float = 5.0
    ) -> list[Request]:
        """Wait until ``predicate(requests)`` holds and return them; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(list(self._requests)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"receiver timed out after {timeout} s: {self._requests}")
                self._cond.wait(left)
            return list(self._requests)

    def clear(self) -> None:
        """Forget the requests so far (between tests sharing one receiver)."""
        with self._cond:
            self._requests.clear()

    def close(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
