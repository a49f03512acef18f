"""Find a Redis that answers, or start a private ``redis-server`` on a free port.

Used by ``make demo``, ``make bench`` and the tests so that they run on a machine where no Redis
is running. The private server keeps nothing on disk and dies with the process that started it.
:func:`secured_redis` starts one that wants a password and also speaks TLS: the tests of Redis
URLs with credentials (``redis://:pw@``, ACL users, ``rediss://``).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import redis

from nusaworker.connections import masked_url
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
    port = port or free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with _redis_server(["--port", str(port)], url):
        yield url


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
            *("--port", str(server.port), "--requirepass", password),
            *("--tls-port", str(server.tls_port), "--tls-cert-file", str(cert)),
            *("--tls-key-file", str(key), "--tls-ca-cert-file", str(cert)),
            *("--tls-auth-clients", "no"),
        ]
        with _redis_server(args, server.url):
            yield server


@contextlib.contextmanager
def _redis_server(args: list[str], ready_url: str) -> Iterator[None]:
    """Run ``redis-server <args>`` on 127.0.0.1, keeping nothing on disk, until a PING to
    ``ready_url`` is answered; stop it on exit."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ConfigurationError("no Redis answers and redis-server is not on the PATH")
    with tempfile.TemporaryDirectory(prefix="nusaworker-redis-") as workdir:
        proc = subprocess.Popen(
            [
                binary,
                *args,
                *("--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
                *("--dir", workdir, "--loglevel", "warning"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            up = wait_for(
                lambda: redis_answers(ready_url) or proc.poll() is not None, 10, interval=0.05
            )
            if not up or proc.poll() is not None:
                raise ConfigurationError(f"redis-server ({masked_url(ready_url)}) did not start")
            yield
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
