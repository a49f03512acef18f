"""A Redis URL prints without its password."""

from __future__ import annotations

import pytest

from nusaworker.connections import SecretURL, masked_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("redis://user:pw@redis.example:6380/2", "redis://user:***@redis.example:6380/2"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("rediss://:p%40ss@host/1", "rediss://:***@host/1"),
    ],
)
def test_masked_url_hides_only_the_password(url: str, shown: str) -> None:
    assert masked_url(url) == shown


def test_secret_url_is_the_url_but_prints_masked() -> None:
    url = SecretURL("redis://:pw@127.0.0.1:6379/0")

    assert url == "redis://:pw@127.0.0.1:6379/0" and str(url) == url
    assert "pw@" not in repr(url) and repr(url) == "'redis://:***@127.0.0.1:6379/0'"
