"""Connection-level failures over real sockets on 127.0.0.1, with a scripted raw HTTP server.

The sandbox only drops connections on sends; these tests need more shapes: a dropped read, a
refused port, a hung answer, a redirect, an error page echoing the credentials.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nusaworker.providers import (
    AmbiguousOutcome,
    AuthError,
    NusaSMSClient,
    PermanentError,
    TransientError,
)
from nusaworker.providers.gate import Priority

pytestmark = pytest.mark.integration

KEY = "KEY-echoed-by-a-bad-proxy-99"
PASSWORD = "PW-echoed-by-a-bad-proxy-11"
BALANCE = {"error": False, "message": "ok", "data": {"idClient": 1, "wa_balance": 5}}
SENT = {"error": False, "message": "ok", "data": {"ref_no": "R-1", "destination": "6281234567"}}

Script = Callable[[bytes], bytes | None]  # request bytes -> raw answer, or None to drop


def answer(
    status: str, body: bytes, content_type: str = "application/json", **headers: str
) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    head += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def ok(data: dict[str, Any], status: str = "200 OK") -> Script:
    return lambda _request: answer(status, json.dumps(data).encode())


def drop(_request: bytes) -> None:
    return None


class ScriptedServer:
    """Serves one scripted behaviour per incoming request, in order; records the requests."""

    def __init__(self, scripts: list[Script]) -> None:
        self.scripts = scripts
        self.requests: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _read_request(self, conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(body) < length:
            body += conn.recv(65536)
        return head + b"\r\n\r\n" + body

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with self._lock:
                index = len(self.requests)
                self.requests.append(b"")
            # One thread per connection: a hung answer must not block the next attempt.
            threading.Thread(target=self._handle, args=(conn, index), daemon=True).start()

    def _handle(self, conn: socket.socket, index: int) -> None:
        with conn:
            conn.settimeout(5)
            request = self._read_request(conn)
            self.requests[index] = request
            script = self.scripts[min(index, len(self.scripts) - 1)]
            raw = script(request)
            if raw is not None:
                conn.sendall(raw)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


class CountingGate:
    """A Gate test double that counts acquires."""

    def __init__(self) -> None:
        self.acquired = 0

    def acquire(self, account: str, *, priority: Priority = "normal") -> None:
        self.acquired += 1

    def penalize(self, account: str, seconds: float) -> None:
        return None


@pytest.fixture
def serve() -> Iterator[Callable[[list[Script]], ScriptedServer]]:
    made: list[ScriptedServer] = []

    def factory(scripts: list[Script]) -> ScriptedServer:
        server = ScriptedServer(scripts)
        made.append(server)
        return server

    yield factory
    for server in made:
        server.close()


def client_for(url: str, gate: CountingGate, **options: Any) -> NusaSMSClient:
    defaults: dict[str, Any] = {
        "base_url": url,
        "api_key": KEY,
        "sms_user": "user",
        "sms_password": PASSWORD,
        "gate": gate,
        "sleep": lambda _s: None,
        "connect_timeout": 1.0,
        "read_timeout": 2.0,
    }
    return NusaSMSClient(**{**defaults, **options})


def test_client_dropped_connection_on_read_is_retried(serve: Any) -> None:
    server = serve([drop, drop, ok(BALANCE)])
    gate = CountingGate()
    with client_for(server.url, gate) as client:
        assert client.get_balance().wa_balance == 5
    assert len(server.requests) == 3 == gate.acquired


def test_client_dropped_connection_on_send_is_ambiguous_once(serve: Any) -> None:
    server = serve([drop, ok(SENT, "201 Created")])
    gate = CountingGate()
    with (
        client_for(server.url, gate) as client,
        pytest.raises(AmbiguousOutcome, match="may have accepted"),
    ):
        client.send_whatsapp("6281234567", "hi")
    assert len(server.requests) == 1 == gate.acquired


def test_client_hung_answer_on_read_times_out_and_is_retried(serve: Any) -> None:
    hang = threading.Event()

    def slow(_request: bytes) -> bytes:
        hang.wait(1.0)  # longer than the client's read timeout
        return answer("200 OK", json.dumps(BALANCE).encode())

    server = serve([slow, ok(BALANCE)])
    gate = CountingGate()
    with client_for(server.url, gate, read_timeout=0.2) as client:
        assert client.get_balance().idClient == 1
    hang.set()
    assert len(server.requests) == 2 == gate.acquired


def test_client_connection_refused_is_transient_and_retried(serve: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gate = CountingGate()
    with (
        client_for(f"http://127.0.0.1:{port}", gate, max_attempts=3) as client,
        pytest.raises(TransientError, match="not sent"),
    ):
        client.send_whatsapp("6281234567", "hi")  # a send: safe, nothing reached anyone
    # The slot is taken only once a connection is open: no slot is spent on a refused one.
    assert gate.acquired == 0


def test_client_error_page_echoing_credentials_is_redacted(serve: Any) -> None:
    def echo(request: bytes) -> bytes:
        body = json.dumps({"message": f"bad credentials in {request.decode(errors='replace')}"})
        return answer("401 Unauthorized", body.encode())

    server = serve([echo])
    with client_for(server.url, CountingGate()) as client:
        with pytest.raises(AuthError) as api:
            client.get_balance()
        with pytest.raises(AuthError) as sms:
            client.send_sms("6281234567", "hi")
    assert KEY.encode() in server.requests[0]  # the proxy really did see and echo it …
    for exc in (api.value, sms.value):
        assert KEY not in str(exc) and PASSWORD not in str(exc)  # … and the error hides it
        assert "***" in str(exc)


def test_client_redirect_is_not_followed(serve: Any) -> None:
    server = serve([lambda _r: answer("302 Found", b"", Location="https://elsewhere.example/")])
    with client_for(server.url, CountingGate()) as client, pytest.raises(PermanentError):
        client.send_whatsapp("6281234567", "hi")
    assert len(server.requests) == 1


def test_client_empty_or_html_success_body(serve: Any) -> None:
    html = lambda _r: answer("200 OK", b"<html><title>Welcome</title></html>", "text/html")  # noqa: E731
    server = serve([html, lambda _r: answer("200 OK", b""), ok(BALANCE)])
    gate = CountingGate()
    with client_for(server.url, gate) as client:
        with pytest.raises(AmbiguousOutcome, match="unreadable"):
            client.send_whatsapp("6281234567", "hi")
        assert client.get_balance().wa_balance == 5  # empty 200 on a read: retried
    assert len(server.requests) == 3 == gate.acquired


def test_client_sends_credentials_only_in_the_body(serve: Any) -> None:
    sms_ok = lambda _r: answer(  # noqa: E731
        "200 OK", b'{"results": [{"status": "0", "messageid": "9", "destination": "6281234567"}]}'
    )
    server = serve([sms_ok])
    with client_for(server.url, CountingGate()) as client:
        assert client.send_sms("6281234567", "hi").ref_no == "9"
    request_line = server.requests[0].split(b"\r\n", 1)[0]
    assert request_line == b"POST /api/v3/sendsms/plain HTTP/1.1"
    assert b"password=" + PASSWORD.encode() in server.requests[0]
