"""The guard of tests/unit/conftest.py: a unit test cannot reach Redis, HTTP or a process."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
import redis
import requests

Refused = pytest.fail.Exception


def test_unit_guard_refuses_a_redis_connection() -> None:
    client = redis.Redis.from_url("redis://127.0.0.1:6379/13", socket_connect_timeout=0.1)
    with pytest.raises(Refused, match="tests/integration"):
        client.ping()


def test_unit_guard_refuses_http() -> None:
    with pytest.raises(Refused, match="tests/integration"):
        requests.get("http://127.0.0.1:9/", timeout=0.1)


def test_unit_guard_refuses_a_listening_socket() -> None:
    with socket.socket() as sock, pytest.raises(Refused, match="tests/integration"):
        sock.bind(("127.0.0.1", 0))


def test_unit_guard_refuses_a_process() -> None:
    with pytest.raises(Refused, match="tests/integration"):
        subprocess.run([sys.executable, "-c", "pass"], check=False)
