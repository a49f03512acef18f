"""Find a Redis that answers, or start a private ``redis-server`` on a free port.

Used by ``make demo``, ``make bench`` and the tests so that they run on a machine where no Redis
is running. The private server keeps nothing on disk and dies with the process that started it.
:class:`PersistentRedis` is the other kind, for the chaos and soak runs: an append-only file in
a directory of its own, so that it can be stopped (cleanly or by a crash) and started again
with its data.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

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
def private_redis(port: int | None = None) -> Iterator[str]:
    """Run a throw-away ``redis-server`` on 127.0.0.1 and yield its URL; stop it on exit."""
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
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
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


Fsync = Literal["always", "everysec", "no"]


class PersistentRedis:
    """A private ``redis-server`` whose data survives a restart: an append-only file in a
    temporary directory of its own, fsynced per ``appendfsync``.

    ``always`` (the chaos run) loses nothing even to a crash; ``everysec`` (Redis's default
    for AOF, the soak run) loses nothing to a clean stop (SIGTERM: the server writes and fsyncs
    its AOF before it exits) and up to about a second of acknowledged writes to a crash
    (SIGKILL, power loss): :meth:`restart` does either.
    """

    def __init__(self, appendfsync: Fsync = "always") -> None:
        self.appendfsync = appendfsync
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="nusaworker-persistent-redis-"))
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "redis.log"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server on its port and directory; returns once it has loaded its AOF."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise ConfigurationError("redis-server is not on the PATH")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--appendonly",
                "yes",
                "--appendfsync",
                self.appendfsync,
                "--save",
                "",
                "--dir",
                str(self.dir),
                "--logfile",
                str(self.log_path),
                "--loglevel",
                "notice",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        proc = self.proc
        up = wait_for(lambda: redis_answers(self.url) or proc.poll() is not None, timeout, 0.05)
        if not up or proc.poll() is not None:
            raise ConfigurationError(f"redis-server on port {self.port} did not start")
        # Answering PING is not enough: while it loads the AOF it answers -LOADING.
        client = redis.Redis.from_url(self.url)
        try:
            if not wait_for(lambda: not int(client.info("persistence").get("loading", 0)), timeout):
                raise ConfigurationError("redis-server did not finish loading its AOF")
        finally:
            client.close()

    def stop(self, timeout: float = 10.0, *, crash: bool = False) -> None:
        """SIGTERM: redis-server flushes its AOF and exits (a clean shutdown); with ``crash``
        SIGKILL: whatever the AOF had not fsynced yet is gone."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            if crash:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, down_for: float, *, crash: bool = False) -> float:
        """Stop (cleanly, or a crash), stay away ``down_for`` seconds, start again; returns
        how long the server did not answer, stop to loaded."""
        began = time.monotonic()
        self.stop(crash=crash)
        time.sleep(down_for)  # the outage under test: Redis stays away this long
        self.start()
        return time.monotonic() - began

    def aof_tail(self) -> tuple[Path, int]:
        """The append-only file Redis appends to now (7.0's multi-part AOF: the newest
        ``*.incr.aof``; a single ``appendonly.aof`` before) and its size in bytes."""
        parts = sorted(
            self.dir.glob("appendonlydir/*.incr.aof"),
            key=lambda p: int(p.name.split(".")[-3]),  # appendonly.aof.<seq>.incr.aof
        )
        path = parts[-1] if parts else self.dir / "appendonly.aof"
        return path, path.stat().st_size

    def power_loss(self, window_s: float, down_for: float) -> tuple[float, int]:
        """What ``everysec`` may lose, played: the last ``window_s`` seconds of writes —
        every one of them answered to its client — never reach the disk, as when the machine
        (not just the process: its page cache survives a SIGKILL) dies before the next fsync.

        The server is SIGKILLed ``window_s`` after its AOF's size is noted, the AOF is cut back
        to that size (redis-server loads a cut last command: ``aof-load-truncated``), and the
        server starts again ``down_for`` later. Returns (seconds without Redis, bytes cut).
        """
        path, size = self.aof_tail()
        time.sleep(window_s)  # clients keep writing and getting answers: the doomed window
        began = time.monotonic()
        self.stop(crash=True)
        cut = path.stat().st_size - size
        with open(path, "r+b") as aof:
            aof.truncate(size)
        time.sleep(down_for)
        self.start()
        return time.monotonic() - began, cut

    def dbsize(self) -> int:
        client = redis.Redis.from_url(self.url)
        try:
            return int(client.dbsize())
        finally:
            client.close()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
