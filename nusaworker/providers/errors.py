"""Everything a provider hit can end in, and the one table from HTTP status to class.

    NusaWorkerError                     (nusaworker.errors)
    └── ProviderError                   status_code, provider_code, detail
        ├── RateLimited                 429; carries retry_after (seconds) when the provider said
        ├── TransientError              500/502/503, connect errors, SMS -1/-23/-26/-99;
        │                               504 and lost answers on reads
        ├── PermanentError              400/404/405/422, a 2xx with "error": true, invalid
        │                               destination, spam limits, unknown negative SMS codes
        ├── AuthError                   401/403, SMS -5 (wrong user/password),
        │                               -40 (IP not whitelisted)
        ├── InsufficientCredit          402 (assumed: not in the documents), a refusal that
        │                               speaks of credit, SMS -2 (not enough credits), -7
        │                               (balance expired)
        └── AmbiguousOutcome            a send may have reached the provider, its answer did not:
                                        read timeout or connection dropped after the request was
                                        written, 504, a 2xx that cannot be parsed

``retryable`` is a class attribute and the only input to the retry decision: ``RateLimited``
and ``TransientError`` may be tried again; an ``AmbiguousOutcome`` may not, because trying a send
again could deliver the message twice (the ledger decides what to do with it).

Messages never contain credentials: the transport scrubs them before an error is built.
"""

from __future__ import annotations

from nusaworker.errors import NusaWorkerError

__all__ = [
    "AmbiguousOutcome",
    "AuthError",
    "InsufficientCredit",
    "PermanentError",
    "ProviderError",
    "RateLimited",
    "TransientError",
    "class_for_status",
]


class ProviderError(NusaWorkerError):
    """Raised when a provider hit does not end in success; the base of the provider errors."""

    retryable = False

    def __init__(
        self,
        detail: str,
        *,
        status_code: int | None = None,
        provider_code: int | None = None,
    ) -> None:
        self.detail = detail
        self.status_code = status_code
        self.provider_code = provider_code
        super().__init__(detail)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(detail={self.detail!r}, status_code={self.status_code!r}, "
            f"provider_code={self.provider_code!r})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructor arguments need help to survive pickling (e.g. across processes).
        return (_rebuild, (type(self), self.detail, self.status_code, self.provider_code))


def _rebuild(
    cls: type[ProviderError], detail: str, status_code: int | None, provider_code: int | None
) -> ProviderError:
    return cls(detail, status_code=status_code, provider_code=provider_code)


class RateLimited(ProviderError):
    """Raised when the provider answers 429: too many hits for this account."""

    retryable = True

    def __init__(
        self,
        detail: str,
        *,
        retry_after: float | None = None,
        status_code: int | None = 429,
        provider_code: int | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(detail, status_code=status_code, provider_code=provider_code)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_rate_limited, (self.detail, self.retry_after, self.status_code))


def _rebuild_rate_limited(
    detail: str, retry_after: float | None, status_code: int | None
) -> RateLimited:
    return RateLimited(detail, retry_after=retry_after, status_code=status_code)


class TransientError(ProviderError):
    """Raised when the provider (or the way to it) failed in a way that a later try may not."""

    retryable = True


class PermanentError(ProviderError):
    """Raised when the provider refused the request as it is; sending it again cannot help."""

    retryable = False


class AuthError(ProviderError):
    """Raised when the credentials are refused (wrong key/password, revoked, IP not whitelisted)."""

    retryable = False


class InsufficientCredit(ProviderError):
    """Raised when the account has no credit left for this hit, or its balance expired."""

    retryable = False


class AmbiguousOutcome(ProviderError):
    """Raised when a send may have reached the provider but whether it was accepted is unknown."""

    retryable = False


# The statuses the documents call success (together with ``"error": false`` in the body).
SUCCESS_STATUSES = frozenset({200, 201, 202, 204})


def class_for_status(status_code: int, *, is_send: bool) -> type[ProviderError] | None:
    """Map an HTTP status to the error class it stands for; ``None`` for success.

    ``is_send`` matters where the provider may have acted although the answer is an error: a
    504 (or an unknown 5xx / unexpected 2xx) on a send is an :class:`AmbiguousOutcome`, on a
    read a :class:`TransientError`.
    """
    if status_code in SUCCESS_STATUSES:
        return None
    if status_code in (401, 403):
        return AuthError
    if status_code == 402:
        return InsufficientCredit
    if status_code == 429:
        return RateLimited
    if status_code == 408:
        # The server gave up waiting for our request: it did not process it.
        return TransientError
    if status_code in (500, 502, 503):
        return TransientError
    if 400 <= status_code < 500 or 300 <= status_code < 400:
        # 400/404/405/422 and the rest of 4xx; a redirect means a wrong base URL (we never follow
        # one, since a POST turned into a GET would silently lose the message).
        return PermanentError
    # 504, other 5xx, other 2xx (203, 206 …) and anything unheard of: the provider may have
    # processed a send.
    return AmbiguousOutcome if is_send else TransientError


def describe_status(status_code: int) -> str:
    """A short human description of an HTTP error status, for error messages."""
    return _STATUS_TEXT.get(status_code, "unexpected HTTP status")


_STATUS_TEXT = {
    400: "invalid request parameter",
    401: "authentication failed",
    402: "insufficient credit",
    403: "forbidden: authentication failed or client IP address not in the whitelist",
    404: "not found",
    405: "method not allowed",
    408: "request timeout",
    422: "invalid parameter value or format",
    429: "rate limited",
    500: "provider server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout: the provider may have processed the request",
}
