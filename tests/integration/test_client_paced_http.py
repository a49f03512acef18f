"""The pacing slot is taken inside the connection: after it is open, right before writing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from nusaworker.providers.paced_http import PacedAdapter, before_write

pytestmark = pytest.mark.integration


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.connections: list[socket.socket] = []
        self.requests = 0

    def get_request(self) -> tuple[socket.socket, object]:
        conn, addr = super().get_request()
        self.connections.append(conn)
        return conn, addr


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.mount("http://", PacedAdapter(max_retries=0))
        yield s


def test_paced_http_gate_runs_once_the_connection_is_open(
    server: Server, session: requests.Session
) -> None:
    seen: list[int] = []

    def gate() -> None:
        time.sleep(0.05)  # let the server's accept loop register the connection
        seen.append(len(server.connections))

    url = f"http://127.0.0.1:{server.server_address[1]}/"
    with before_write(gate):
        assert session.get(url, timeout=5).text == "ok"
    assert seen == [1]
    assert server.requests == 1


def test_paced_http_connection_closed_during_the_wait_is_reopened_with_a_fresh_slot(
    server: Server, session: requests.Session
) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    session.get(url, timeout=5)  # a pooled keep-alive connection now exists
    calls = 0

    def gate() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # the provider closes the idle connection while we wait for our slot
            server.connections[0].shutdown(socket.SHUT_RDWR)
            time.sleep(0.05)

    with before_write(gate):
        assert session.get(url, timeout=5).text == "ok"
    assert calls == 2  # the time spent reconnecting is paid with a new slot
    assert len(server.connections) == 2
    assert server.requests == 2


def test_paced_http_without_a_hook_behaves_like_requests(
    server: Server, session: requests.Session
) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    assert session.get(url, timeout=5).status_code == 200
