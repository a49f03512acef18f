"""Find a Redis that answers, or start a private ``redis-server`` on a free port.

Used by ``make demo``, ``make bench`` and the tests so that they run on a machine where no Redis
is running. The private server keeps nothing on disk and dies with the process that started it.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator

import redis

from nusaworker.errors import ConfigurationError
from nusaworker.testing.waiting import wait_for


def redis_answers(url: str, timeout: float = 0.5) -> bool:
    """Whether a PING to ``url`` is answered within ``timeout`` seconds."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def private_redis(port: int | None = None, *, password: str | None = None) -> Iterator[str]:
    """Run a throw-away ``redis-server`` on 127.0.0.1 and yield its URL; stop it on exit.
    With ``password`` the server asks for it (``requirepass``) and the URL carries it."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ConfigurationError("no Redis answers and redis-server is not on the PATH")
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="nusaworker-redis-") as workdir:
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
                "--loglevel",
                "warning",
                *(["--requirepass", password] if password else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://{f':{password}@' if password else ''}127.0.0.1:{port}/0"
        try:
            up = wait_for(lambda: redis_answers(url) or proc.poll() is not None, 10, interval=0.05)
            if not up or proc.poll() is not None:
                raise ConfigurationError(f"redis-server on port {port} did not start")
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def redis_url_or_private(url: str) -> Iterator[str]:
    """Yield ``url`` if a Redis answers there, else the URL of a private server started here."""
    if redis_answers(url):
        yield url
        return
    with private_redis() as private_url:
        yield private_url


def delete_prefix(url: str, prefix: str) -> int:
    """Delete every key under ``prefix`` (and nothing else); how many were deleted."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        return int(client.delete(*keys)) if keys else 0
    finally:
        client.close()
