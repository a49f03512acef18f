"""The pacing slot is taken inside the connection: after it is open, right before writing."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests

from nusaworker.providers.paced_http import PacedAdapter, before_write
from nusaworker.testing.receiver import Receiver
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.mount("http://", PacedAdapter(max_retries=0))
        yield s


def test_paced_http_gate_runs_once_the_connection_is_open(
    receiver: Receiver, session: requests.Session
) -> None:
    seen: list[int] = []

    def gate() -> None:
        # The server accepts in its own thread: wait for it (in vain, were nothing connected).
        seen.append(wait_for(lambda: len(receiver.connections), timeout=2.0, interval=0.01))

    with before_write(gate):
        assert session.get(f"{receiver.url}/", timeout=5).text == "ok"
    assert seen == [1]
    assert len(receiver.requests) == 1


def test_paced_http_connection_closed_during_the_wait_is_reopened_with_a_fresh_slot(
    receiver: Receiver, session: requests.Session
) -> None:
    url = f"{receiver.url}/"
    session.get(url, timeout=5)  # a pooled keep-alive connection now exists
    calls = 0

    def gate() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # the provider closes the idle connection while we wait for our slot
            receiver.connections[0].shutdown(socket.SHUT_RDWR)
            # The client's socket has no event to wait on from here: give the FIN time to land.
            time.sleep(0.05)

    with before_write(gate):
        assert session.get(url, timeout=5).text == "ok"
    assert calls == 2  # the time spent reconnecting is paid with a new slot
    assert len(receiver.connections) == 2
    assert len(receiver.requests) == 2


def test_paced_http_without_a_hook_behaves_like_requests(
    receiver: Receiver, session: requests.Session
) -> None:
    assert session.get(f"{receiver.url}/", timeout=5).status_code == 200
