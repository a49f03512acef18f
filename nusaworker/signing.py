"""The one signature scheme of every request nusaworker sends to a user's backend.

Both outbound webhooks — message events (:mod:`nusaworker.tracking.webhook`) and alerts
(:mod:`nusaworker.credit.sinks.webhook`) — sign their body the same way::

    X-Nusaworker-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

(the scheme Stripe and others use). The body cannot be altered without the secret, and the
timestamp inside the signed text lets the receiver refuse a replay older than its tolerance.
:func:`verify` is that check, for receivers written in Python: pass the raw request body (before
any JSON parsing) and the header. Elements other than ``t`` and ``v1`` are ignored, so a later
scheme (``v2=…``) can be added beside ``v1`` without breaking receivers.

A foundation module: it imports only the standard library and pydantic's ``SecretStr``.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from pydantic import SecretStr

__all__ = ["DEFAULT_TOLERANCE_S", "SIGNATURE_HEADER", "sign", "verify"]

SIGNATURE_HEADER = "X-Nusaworker-Signature"
# A signature older (or further in the future) than this is refused: the replay window. Five
# minutes covers clock skew between hosts and a slow retry, and little more.
DEFAULT_TOLERANCE_S = 300


def _key(secret: str | SecretStr) -> bytes:
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return value.encode("utf-8")


def sign(secret: str | SecretStr, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    secret: str | SecretStr,
    body: bytes,
    header: str | None,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """Whether ``header`` is a valid signature of ``body`` made within ``tolerance_s`` of now.

    Constant-time comparison; never raises on bad input (a missing or malformed header is
    simply not valid). ``now`` (unix seconds) is injectable for tests.
    """
    if not header:
        return False
    parts: dict[str, str] = {}
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(name, value)
    try:
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).partition(",v1=")[2]
    # As bytes: compare_digest refuses a str that is not ASCII, and a header may hold anything.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
