"""The one webhook signature scheme (nusaworker.signing), and both webhooks using it."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from pydantic import SecretStr

from nusaworker import signing
from nusaworker.credit.sinks import webhook as alert_webhook
from nusaworker.signing import SIGNATURE_HEADER, sign, verify
from nusaworker.tracking import webhook as event_webhook

SECRET = "s3cret"
BODY = b'{"event_id":"e1","state":"delivered"}'
T = 1_700_000_000


def test_sign_is_hmac_sha256_of_timestamp_dot_body() -> None:
    digest = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, T) == f"t={T},v1={digest}"


def test_sign_same_for_secretstr_and_str() -> None:
    assert sign(SecretStr(SECRET), BODY, T) == sign(SECRET, BODY, T)


def test_verify_accepts_its_own_signature_within_tolerance() -> None:
    header = sign(SECRET, BODY, T)
    assert verify(SECRET, BODY, header, now=T + 299)
    assert verify(SecretStr(SECRET), BODY, header, now=T - 299)
    assert verify(SECRET, BODY, f"  {header}  ", now=T)


def test_verify_ignores_other_schemes_beside_v1() -> None:
    header = sign(SECRET, BODY, T)
    assert verify(SECRET, BODY, f"{header},v2=abc", now=T)
    assert verify(SECRET, BODY, f"v0=zzz,{header}", now=T)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("other", BODY, T),
        (SECRET, BODY + b" ", T),
        (SECRET, BODY, T + 301),
        (SECRET, BODY, T - 301),
    ],
)
def test_verify_refuses_wrong_secret_tampered_body_or_stale_time(
    secret: str, body: bytes, now: int
) -> None:
    assert not verify(secret, body, sign(SECRET, BODY, T), now=now)


@pytest.mark.parametrize(
    "header", [None, "", "garbage", "t=abc,v1=00", f"t={T}", "v1=00", f"t={T},v1=é", "t=,v1="]
)
def test_verify_refuses_malformed_headers_without_raising(header: str | None) -> None:
    assert not verify(SECRET, BODY, header, now=T)


def test_both_webhooks_use_the_one_scheme() -> None:
    assert alert_webhook.sign is event_webhook.sign is signing.sign
    assert alert_webhook.verify is event_webhook.verify_signature is signing.verify
    assert alert_webhook.SIGNATURE_HEADER == event_webhook.SIGNATURE_HEADER == SIGNATURE_HEADER
    assert SIGNATURE_HEADER == "X-Nusaworker-Signature"
