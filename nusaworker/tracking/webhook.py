"""The outbound webhook: one signed JSON POST per event to the user's backend.

Each request carries::

    Content-Type: application/json
    X-Nusaworker-Event: <event_id>                  (the same on every retry: deduplicate on it)
    X-Nusaworker-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

The backend recomputes the HMAC over the raw body with the shared secret and compares in
constant time (:func:`nusaworker.signing.verify`, here also :func:`verify_signature`, does
exactly that: the scheme is :mod:`nusaworker.signing`'s, the same as the alert webhook's); the
timestamp inside the signed text lets it refuse replays of an old request. 2xx means taken; a
timeout, connection error, 5xx, 408 or 429 is retried with exponential backoff and jitter (by
the Celery task, see :mod:`nusaworker.tasks.tracking`); any other 4xx is final. None of it ever
delays a send or a status update: webhooks run as tasks of their own, after the ledger has
recorded the change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import requests
from pydantic import SecretStr

from nusaworker.backoff import backoff
from nusaworker.signing import DEFAULT_TOLERANCE_S, SIGNATURE_HEADER, sign, verify
from nusaworker.tracking.errors import WebhookFailed, WebhookRefused

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "WebhookResult",
    "backoff_s",
    "body_of",
    "post_event",
    "sign",
    "verify_signature",
]

EVENT_HEADER = "X-Nusaworker-Event"
BACKOFF_CAP_S = 300.0
_RETRYABLE_4XX = frozenset({408, 425, 429})


class WebhookResult(StrEnum):
    """What the webhook task did with one event; a ``str``, so the task's result is the word."""

    #: The backend answered 2xx.
    DELIVERED = "delivered"
    #: Kept as failed at once: the backend refused it (a final 4xx), or no secret is set.
    REFUSED = "refused"
    #: Kept as failed after the last attempt.
    FAILED = "failed"
    #: No webhook URL is configured: nothing to do.
    DISABLED = "disabled"


def body_of(event: Mapping[str, Any]) -> bytes:
    """The exact bytes posted for ``event`` (compact JSON, keys sorted, UTF-8)."""
    return json.dumps(event, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


# The scheme is nusaworker.signing's, shared with the alert webhook; these names stay for the
# receivers that import them from here.
verify_signature = verify


def backoff_s(attempt: int, *, base_s: float, cap_s: float = BACKOFF_CAP_S) -> float:
    """Delay before retry number ``attempt`` (1 = first retry): the one backoff formula
    (:func:`nusaworker.backoff.backoff`: exponential, full jitter, capped)."""
    return backoff(attempt, base=base_s, cap=cap_s)


def post_event(
    session: requests.Session,
    url: str,
    secret: str | SecretStr,
    event: Mapping[str, Any],
    *,
    timeout_s: float,
    now: float | None = None,
) -> int:
    """POST ``event`` to ``url``, signed; the HTTP status on success (2xx).

    Raises :class:`WebhookFailed` (retry later) or :class:`WebhookRefused` (do not).
    Messages name the status or error class only: never the URL's query or the secret.
    """
    body = body_of(event)
    timestamp = int(time.time() if now is None else now)
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: str(event.get("event_id", "")),
        SIGNATURE_HEADER: sign(secret, body, timestamp),
        "User-Agent": "nusaworker-webhook/1",
    }
    try:
        response = session.post(
            url, data=body, headers=headers, timeout=timeout_s, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise WebhookFailed(f"webhook not reached ({type(exc).__name__})") from None
    status = response.status_code
    response.close()
    if 200 <= status < 300:
        return status
    if 400 <= status < 500 and status not in _RETRYABLE_4XX:
        raise WebhookRefused(f"webhook answered HTTP {status}")
    raise WebhookFailed(f"webhook answered HTTP {status}")
