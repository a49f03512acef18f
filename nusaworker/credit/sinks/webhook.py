"""The webhook sink: each alert POSTed as JSON, signed with HMAC-SHA256.

The receiver checks the ``X-Nusaworker-Signature`` header, ``t=<unix time>,v1=<hex>``, where
``<hex>`` is HMAC-SHA256 of ``"<t>." + body`` under the shared secret: the scheme of
:mod:`nusaworker.signing`, the same as the message-event webhook's. :func:`verify` (re-exported
from there) is that check, for receivers written in Python.
"""

from __future__ import annotations

import json
import random
import time
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr
from tenacity import RetryCallState, retry, retry_if_exception_type, stop_after_attempt

from nusaworker.backoff import exponential, jittered
from nusaworker.credit.alerts import Alert
from nusaworker.credit.errors import AlertDeliveryError
from nusaworker.errors import ConfigurationError, NusaWorkerError
from nusaworker.signing import DEFAULT_TOLERANCE_S, SIGNATURE_HEADER, sign, verify

__all__ = ["DEFAULT_TOLERANCE_S", "SIGNATURE_HEADER", "WebhookSink", "sign", "verify"]

ATTEMPTS = 3
# Between attempts: 0.2 s, 0.4 s … (at most 2 s), plus up to 0.2 s of jitter.
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 2.0
JITTER_S = 0.2


def _wait(state: RetryCallState) -> float:
    """Tenacity's wait between two tries of one alert (:mod:`nusaworker.backoff`)."""
    delay = exponential(state.attempt_number, base=BACKOFF_BASE_S, cap=BACKOFF_CAP_S)
    return jittered(delay, spread=JITTER_S, unit=random.random())


class _Retryable(NusaWorkerError):
    """Raised when one try of an alert may succeed again: connection error, timeout, 5xx, 429.

    Internal to the sink: tenacity retries it, and the last one becomes an
    :class:`AlertDeliveryError`.
    """

    retryable = True


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what may be shown of a URL that is a credential."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: nothing of it is shown
        port = ""
    return f"{parts.scheme}://{parts.hostname or '?'}{port}"


class WebhookSink:
    """POSTs each alert as JSON to ``url``, signed with ``secret`` (required)."""

    name = "webhook"

    def __init__(
        self, url: SecretStr | str, *, secret: SecretStr | str, timeout: float = 5.0
    ) -> None:
        url = url.get_secret_value() if isinstance(url, SecretStr) else url
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError("alert_webhook_url: an http(s) URL is required")
        secret = secret if isinstance(secret, SecretStr) else SecretStr(secret)
        if not secret.get_secret_value():
            # An unsigned alert could be forged by anyone who finds the receiver's URL.
            raise ConfigurationError("alert_webhook_secret: the webhook sink needs a secret")
        # The URL may be the credential itself (a Slack-style incoming hook): kept private,
        # shown as its origin only (scheme, host, port) in reprs and errors.
        self._url = url
        self.origin = url_origin(url)
        self._secret = secret
        self.timeout = timeout
        self._session = requests.Session()

    def __repr__(self) -> str:
        return f"WebhookSink(origin={self.origin!r})"

    def send(self, alert: Alert) -> None:
        body = json.dumps(alert.to_dict(), sort_keys=True, ensure_ascii=False).encode()
        try:
            self._post(body)
        except _Retryable as exc:
            raise AlertDeliveryError(f"webhook {self.origin}: {exc}") from None

    @retry(
        retry=retry_if_exception_type(_Retryable),
        stop=stop_after_attempt(ATTEMPTS),
        wait=_wait,
        reraise=True,
    )
    def _post(self, body: bytes) -> None:
        # Signed per attempt: a retry carries a fresh timestamp, never a stale one.
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body, int(time.time())),
        }
        try:
            response = self._session.post(
                self._url, data=body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise _Retryable(type(exc).__name__) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code}")
        if response.status_code >= 300:
            raise AlertDeliveryError(f"webhook {self.origin}: HTTP {response.status_code}")
