"""The callback receiver's server (waitress) at its edges, over real sockets, with a real Redis:
chunked bodies, a stalled client, oversized bodies, keep-alive, graceful stop, the command."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests

from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord, MessageState
from nusaworker.settings import Settings
from nusaworker.testing.waiting import wait_for
from nusaworker.tracking.receiver import CallbackServer
from nusaworker.tracking.wsgi import create_app

pytestmark = pytest.mark.integration

TOKEN = "cb-token-0123456789abcdef"
MAX_BODY = 1024
# The idle timeout is what these tests exercise; a short one keeps them to seconds.
IDLE_TIMEOUT_S = 2


@pytest.fixture
def settings(redis_url: str, key_prefix: str) -> Settings:
    return Settings(
        redis_url=redis_url,
        key_prefix=key_prefix,
        callback_token=TOKEN,
        callback_max_body_bytes=MAX_BODY,
        callback_idle_timeout_s=IDLE_TIMEOUT_S,
    )


@pytest.fixture
def server(settings: Settings) -> Iterator[CallbackServer]:
    with CallbackServer.from_settings(create_app(settings), settings, port=0) as running:
        yield running


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix))


def _sent(ledger: Ledger, ref_no: str) -> str:
    message_id, _ = ledger.create(MessageRecord(channel="wa", destination="628123"))
    claim = ledger.claim(message_id)
    assert claim.token is not None
    ledger.begin_hit(message_id, claim.token)
    ledger.mark_sent(message_id, claim.token, ref_no, next_poll_at=time.time() + 60)
    return message_id


def _connect(server: CallbackServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def _read_answer(sock: socket.socket) -> bytes:
    """Everything the server writes until it closes the connection."""
    chunks = []
    while data := sock.recv(65536):
        chunks.append(data)
    return b"".join(chunks)


def _chunked(body: bytes, size: int) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def test_callback_server_records_a_push_sent_chunked(
    server: CallbackServer, ledger: Ledger
) -> None:
    message_id = _sent(ledger, "NSCHUNK1")
    body = b"ref_no=NSCHUNK1&status=D&err_code=0"
    head = (
        f"POST /{TOKEN}/wa/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()

    with _connect(server) as sock:
        sock.sendall(head + _chunked(body, 7))
        answer = _read_answer(sock)

    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert b'"result":"recorded"' in answer
    assert ledger.get(message_id).state is MessageState.DELIVERED


def test_callback_server_drops_a_stalled_client_and_serves_others(
    server: CallbackServer,
) -> None:
    with _connect(server) as loris:
        # Headers begun, never finished.
        loris.sendall(f"POST /{TOKEN}/wa/status HTTP/1.1\r\nHost: x\r\nContent-Le".encode())
        started = time.monotonic()

        answer = requests.get(f"{server.url}/healthz", timeout=5)
        loris.settimeout(IDLE_TIMEOUT_S + 10)
        closed = loris.recv(1024)
        held = time.monotonic() - started

    assert answer.status_code == 200
    assert closed == b""  # the server closed it, without an answer
    assert held >= IDLE_TIMEOUT_S - 0.5


def test_callback_server_drops_a_trickling_client_at_the_request_deadline(
    redis_url: str, key_prefix: str
) -> None:
    # A request timeout well under the idle timeout: only the deadline can drop this client.
    settings = Settings(
        redis_url=redis_url,
        key_prefix=key_prefix,
        callback_token=TOKEN,
        callback_idle_timeout_s=60,
        callback_request_timeout_s=2,
    )
    request = f"POST /{TOKEN}/wa/status HTTP/1.1\r\nHost: x\r\nX-Slow: ".encode() + b"a" * 200
    with (
        CallbackServer.from_settings(create_app(settings), settings, port=0) as server,
        _connect(server) as loris,
    ):
        started = time.monotonic()
        dropped_after = None
        for byte in request:  # a byte every 0.1 s: never idle, never finished
            try:
                loris.sendall(bytes([byte]))
            except OSError:
                dropped_after = time.monotonic() - started
                break
            loris.settimeout(0.1)
            try:
                if loris.recv(1024) == b"":
                    dropped_after = time.monotonic() - started
                    break
            except TimeoutError:
                pass
        served = requests.get(f"{server.url}/healthz", timeout=5)

    assert dropped_after is not None  # cut off before its 200 bytes took 20 s
    assert dropped_after >= 2 - 0.5
    assert served.status_code == 200


@pytest.mark.parametrize("chunked", [False, True])
def test_callback_server_refuses_an_oversized_body_with_413(
    server: CallbackServer, chunked: bool
) -> None:
    body = b"x" * (MAX_BODY + 1)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    head = (
        f"POST /{TOKEN}/wa_official/status HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()

    with _connect(server) as sock:
        sock.sendall(head + (_chunked(body, 256) if chunked else body))
        answer = _read_answer(sock)

    assert answer.startswith(b"HTTP/1.1 413"), answer


def test_callback_server_accepts_a_body_of_exactly_the_limit(server: CallbackServer) -> None:
    answer = requests.post(
        f"{server.url}/{TOKEN}/wa_official/status",
        data=b" " * MAX_BODY,
        headers={"Content-Type": "application/json"},
        timeout=5,
    )

    assert answer.status_code == 400  # read and found malformed, not refused for its size


def test_callback_server_keeps_a_connection_alive(server: CallbackServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        first = conn.getresponse()
        first.read()
        assert conn.sock is not None
        local = conn.sock.getsockname()
        conn.request("GET", "/healthz")
        second = conn.getresponse()
        second.read()
        assert conn.sock is not None

        assert (first.status, second.status) == (200, 200)
        assert first.version == 11
        assert first.getheader("Connection") != "close"
        assert conn.sock.getsockname() == local  # the same connection served both
    finally:
        conn.close()


def test_callback_server_stop_lets_a_request_in_flight_finish() -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        entered.set()
        release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"done"]

    server = CallbackServer(slow, grace_s=10).start()
    answers: list[requests.Response] = []
    client = threading.Thread(
        target=lambda: answers.append(requests.get(f"{server.url}/x", timeout=10))
    )
    client.start()
    assert entered.wait(5)
    stopper = threading.Thread(target=server.stop)
    stopper.start()

    # The listening socket is gone at once: no new connection is taken.
    def refused() -> bool:
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        except OSError:
            return True
        return False

    assert wait_for(refused, timeout=5)
    assert stopper.is_alive()  # still waiting for the request in flight
    release.set()
    client.join(10)
    stopper.join(10)

    assert not stopper.is_alive()
    assert [a.status_code for a in answers] == [200]
    assert answers[0].text == "done"


def test_callbacks_command_serves_and_stops_on_sigterm(
    settings: Settings, ledger: Ledger, redis_url: str, key_prefix: str
) -> None:
    env = {
        **os.environ,
        "NUSAWORKER_REDIS_URL": redis_url,
        "NUSAWORKER_KEY_PREFIX": key_prefix,
        "NUSAWORKER_CALLBACK_TOKEN": TOKEN,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "nusaworker.cli", "callbacks", "--port", "0", "--threads", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        url = banner.split()[3].split("/<token>")[0]
        assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
        message_id = _sent(ledger, "NSCLI1")
        pushed = requests.get(
            f"{url}/{TOKEN}/wa/status", params={"ref_no": "NSCLI1", "status": "D"}, timeout=5
        )
        assert pushed.status_code == 200
        assert ledger.get(message_id).state is MessageState.DELIVERED

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
