"""Arrival stamps come from the wire (kernel receive time), not from a late handler thread."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from nusaworker.sandbox.arrival import SO_TIMESTAMPNS, StampedReader, enable_timestamps
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration  # real loopback sockets

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_TIMESTAMPNS")


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    server = socket.create_server(("127.0.0.1", 0))
    enable_timestamps(server)
    client = socket.create_connection(server.getsockname())
    conn, _ = server.accept()
    server.close()
    yield client, conn
    client.close()
    conn.close()


def _warm_up(client: socket.socket, reader: StampedReader) -> None:
    def stamped() -> bool:  # the kernel switches stamping on lazily
        client.sendall(b"warm-up\n")
        reader.readline()
        return reader.kernel_stamped

    assert wait_for(stamped, 2, interval=0), "kernel never stamped a packet"


def test_stamped_reader_lines_and_exact_reads(pair: tuple[socket.socket, socket.socket]) -> None:
    client, conn = pair
    reader = StampedReader(conn, stamped=enable_timestamps(conn))
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY!next")
    assert reader.readline(65537) == b"GET / HTTP/1.1\r\n"
    assert reader.readline() == b"Host: x\r\n"
    assert reader.readline() == b"\r\n"
    assert reader.read(5) == b"BODY!"
    assert reader.readline(2) == b"ne"
    client.shutdown(socket.SHUT_WR)
    assert reader.read(-1) == b"xt"
    assert reader.next_arrival() is None  # EOF


@linux_only
def test_stamped_reader_arrival_is_send_time_not_read_time(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    client, conn = pair
    assert conn.getsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS) == 1  # inherited from the listener
    reader = StampedReader(conn, stamped=True)
    _warm_up(client, reader)
    before = time.monotonic()
    client.sendall(b"first\n")
    after = time.monotonic()
    time.sleep(0.05)  # the reader comes late, like a handler thread waiting for the GIL
    found = reader.next_arrival()
    assert found is not None
    arrival, stamped = found
    assert stamped and reader.kernel_stamped
    assert before - 0.0005 <= arrival <= after + 0.0005
    assert reader.readline() == b"first\n"


@linux_only
def test_stamped_reader_waiting_reader_keeps_first_packet_time(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    client, conn = pair
    reader = StampedReader(conn, stamped=True)
    _warm_up(client, reader)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    found: list[tuple[float, bool] | None] = []
    waiter = threading.Thread(target=lambda: found.append(reader.next_arrival()))
    waiter.start()
    time.sleep(0.01)  # the reader is blocked in its read before the first packet leaves
    before = time.monotonic()
    client.sendall(b"POST / HTTP/1.1\r\n")  # headers first ...
    after = time.monotonic()
    time.sleep(0.03)  # two packets, 30 ms apart: the gap under test
    client.sendall(b"Content-Length: 0\r\n\r\n")  # ... the rest 30 ms later
    waiter.join(timeout=5)
    assert found and found[0] is not None and found[0][1]
    assert before - 0.0005 <= found[0][0] <= after + 0.0005  # one-byte read: first packet
    assert reader.readline() == b"POST / HTTP/1.1\r\n"


@linux_only
def test_stamped_reader_late_reader_gets_latest_queued_packet_time(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    client, conn = pair
    reader = StampedReader(conn, stamped=True)
    _warm_up(client, reader)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    first = time.monotonic()
    client.sendall(b"POST / HTTP/1.1\r\n")
    time.sleep(0.03)  # two packets, 30 ms apart: the gap under test
    client.sendall(b"Content-Length: 0\r\n\r\n")
    last = time.monotonic()
    time.sleep(0.03)  # the reader comes late; the kernel has merged the two packets
    found = reader.next_arrival()
    assert found is not None and found[1]
    # Never before the first byte, never as late as the read: between the two packets' sends.
    assert first - 0.0005 <= found[0] <= last + 0.0005


REQUEST = b"GET /nusasms_api/1.0/balance HTTP/1.1\r\nHost: x\r\nAPIKey: test-key\r\n\r\n"


def _exchange(sock: socket.socket, reader: Any) -> tuple[float, float]:
    """Send one request; return the (before, after) window of the send, read the answer."""
    start = time.monotonic()
    sock.sendall(REQUEST)
    window = (start, time.monotonic())
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    json.loads(reader.read(length))
    return window


@linux_only
def test_hit_arrival_exact_while_sandbox_process_is_busy(make_sandbox: Any) -> None:
    box = make_sandbox(min_interval_ms=50)
    assert box.kernel_timestamps
    spinning = True

    def spin() -> None:  # holds the GIL as much as the interpreter lets it
        while spinning:
            pass

    spinners = [threading.Thread(target=spin, daemon=True) for _ in range(2)]
    windows = []
    with socket.create_connection((box.host, box.port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = sock.makefile("rb")
        _exchange(sock, reader)  # warm-up: the kernel switches stamping on lazily
        time.sleep(0.055)  # hits spaced just over the 50 ms rule: none may count as a violation
        for t in spinners:
            t.start()
        try:
            for _ in range(6):
                windows.append(_exchange(sock, reader))
                time.sleep(0.055)  # (as above)
        finally:
            spinning = False
            for t in spinners:
                t.join()
            reader.close()
    hits = box.hits()[1:]
    assert len(hits) == 6
    for hit, (start, end) in zip(hits, windows, strict=True):
        assert hit["kernel_stamp"] is True
        assert start - 0.0005 <= hit["t"] <= end + 0.0005  # stamped while sendall ran
    assert box.stats()["violations"] == 0
