"""Unit tests are pure: no Redis, no HTTP, no worker process — they run in seconds
(``make test-unit``). A test that opens a network connection, binds a socket or starts a
process fails here, with a pointer to ``tests/integration``, where such tests live."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable
from typing import Any, NoReturn

import pytest


def _refuse(what: str) -> Callable[..., NoReturn]:
    def refuse(target: Any, *args: Any, **kwargs: Any) -> NoReturn:
        if isinstance(target, socket.socket):
            target.close()  # the caller will not: it sees no OSError (below)
        # pytest.fail raises a BaseException: code that catches OSError (or Exception) to
        # retry or fall back cannot swallow it.
        pytest.fail(f"a unit test may not {what}; it belongs in tests/integration")

    return refuse


@pytest.fixture(autouse=True)
def pure(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse sockets and processes for the length of each unit test."""
    monkeypatch.setattr(socket.socket, "connect", _refuse("open a network connection"))
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse("open a network connection"))
    monkeypatch.setattr(socket.socket, "bind", _refuse("listen on a socket"))
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("start a process"))
