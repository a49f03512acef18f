"""Webhook signatures and backoff (pure: HMAC arithmetic, no HTTP)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from pydantic import SecretStr

from nusaworker.tracking.webhook import backoff_s, body_of, sign, verify_signature

SECRET = "s3cret-for-tests"
BODY = body_of({"event_id": "1-0", "type": "state", "state": "delivered"})


def test_sign_is_hmac_sha256_of_timestamp_dot_body() -> None:
    header = sign(SECRET, BODY, 1_700_000_000)

    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_verify_signature_accepts_its_own_signature() -> None:
    header = sign(SecretStr(SECRET), BODY, 1_700_000_000)

    assert verify_signature(SECRET, BODY, header, now=1_700_000_010)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("another-secret", BODY, 1_700_000_010),
        (SECRET, BODY + b" ", 1_700_000_010),
        (SECRET, BODY, 1_700_000_000 + 301),
        (SECRET, BODY, 1_700_000_000 - 301),
    ],
)
def test_verify_signature_refuses_wrong_secret_tampered_body_or_stale_time(
    secret: str, body: bytes, now: float
) -> None:
    header = sign(SECRET, BODY, 1_700_000_000)

    assert not verify_signature(secret, body, header, now=now)


@pytest.mark.parametrize("header", [None, "", "garbage", "t=abc,v1=00", "v1=00", "t=1700000000"])
def test_verify_signature_refuses_malformed_headers(header: str | None) -> None:
    assert not verify_signature(SECRET, BODY, header, now=1_700_000_000)


def test_body_of_is_stable_whatever_the_key_order() -> None:
    assert body_of({"b": 1, "a": "é"}) == body_of({"a": "é", "b": 1}) == '{"a":"é","b":1}'.encode()


def test_backoff_grows_exponentially_and_is_capped() -> None:
    for attempt in range(1, 12):
        delay = backoff_s(attempt, base_s=2.0, cap_s=60.0)
        assert 0 <= delay <= min(60.0, 2.0 * 2 ** (attempt - 1))
    assert max(backoff_s(20, base_s=2.0, cap_s=60.0) for _ in range(200)) <= 60.0
