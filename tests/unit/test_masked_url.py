"""A Redis URL prints without its password: :func:`masked_url`, :class:`RedisURL` (the
settings' type) and :class:`SecretURL` (what Celery's configuration holds)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from nusaworker.connections import RedisURL, SecretURL, masked_url, reveal
from nusaworker.settings import Settings


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("redis://user:pw@redis.example:6380/2", "redis://user:***@redis.example:6380/2"),
        ("redis://user:pw@host", "redis://user:***@host"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://user@host:6379/0", "redis://user@host:6379/0"),
        ("rediss://:p%40ss@host/1", "rediss://:***@host/1"),
        ("rediss://:p@ss:w@host/1", "rediss://:***@host/1"),
        ("redis://:pa/ss@host/1", "redis://:***@host/1"),
        ("redis://:pw@[::1]:6379/0", "redis://:***@[::1]:6379/0"),
        ("redis://:pw@host:notaport/0", "redis://:***@host:notaport/0"),
        (
            "unix:///run/redis.sock?db=2&password=pw&ssl=no",
            "unix:///run/redis.sock?db=2&password=***&ssl=no",
        ),
        ("redis://host/0?password=pw", "redis://host/0?password=***"),
        (
            "rediss://:pw@host:6380/0?ssl_cert_reqs=required",
            "rediss://:***@host:6380/0?ssl_cert_reqs=required",
        ),
    ],
)
def test_masked_url_hides_only_the_password(url: str, shown: str) -> None:
    assert masked_url(url) == shown


def test_secret_url_is_the_url_but_prints_masked() -> None:
    url = SecretURL("redis://:pw@127.0.0.1:6379/0")

    assert url == "redis://:pw@127.0.0.1:6379/0" and str(url) == url
    assert "pw@" not in repr(url) and repr(url) == "'redis://:***@127.0.0.1:6379/0'"


def test_redis_url_prints_masked_everywhere_and_reveals_on_request() -> None:
    url = RedisURL("redis://app:s3cr3t@redis.example:6380/2")

    for shown in (str(url), repr(url), f"{url}", f"{url!r}", f"{url}"):
        assert "s3cr3t" not in shown and "app:***@redis.example:6380/2" in shown
    assert url.get_secret_value() == reveal(url) == "redis://app:s3cr3t@redis.example:6380/2"
    assert reveal("redis://h/0") == "redis://h/0"
    assert url == RedisURL("redis://app:s3cr3t@redis.example:6380/2")
    assert url != RedisURL("redis://app:other@redis.example:6380/2")


def test_settings_redis_url_is_masked_in_repr_dump_and_json() -> None:
    settings = Settings(redis_url="redis://:s3cr3t@127.0.0.1:6379/0")

    assert isinstance(settings.redis_url, RedisURL)
    assert settings.redis_url.get_secret_value() == "redis://:s3cr3t@127.0.0.1:6379/0"
    for shown in (
        repr(settings),
        str(settings),
        str(settings.model_dump()),
        settings.model_dump_json(),
    ):
        assert "s3cr3t" not in shown
    assert json.loads(settings.model_dump_json())["redis_url"] == "redis://:***@127.0.0.1:6379/0"


def test_settings_redis_url_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUSAWORKER_REDIS_URL", "rediss://worker:s3cr3t@redis.example:6380/0")

    url = Settings().redis_url

    assert url.get_secret_value() == "rediss://worker:s3cr3t@redis.example:6380/0"
    assert str(url) == "rediss://worker:***@redis.example:6380/0"


def test_settings_redis_url_default_is_the_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    # The default, not what this run's environment says (make test-bare points it elsewhere).
    monkeypatch.delenv("NUSAWORKER_REDIS_URL", raising=False)
    assert Settings().redis_url.get_secret_value() == "redis://localhost:6379/0"


@pytest.mark.parametrize(
    "url", ["http://:s3cr3t@host/0", "s3cr3t", "s3cr3t:s3cr3t@host", ":s3cr3t@host:6379"]
)
def test_settings_refuse_a_bad_redis_url_without_quoting_it(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(redis_url=url)

    text = str(caught.value)
    assert "redis_url" in text and "s3cr3t" not in text


def test_settings_errors_never_quote_a_value() -> None:
    # A credential pasted into the wrong variable must not come back in the error.
    with pytest.raises(ValidationError) as caught:
        Settings(min_interval_ms="s3cr3t-api-key", accounts=[{"name": "s3cr3t"}])

    assert "s3cr3t" not in str(caught.value)
