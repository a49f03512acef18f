"""What delivery tracking raises.

NusaWorkerError
└── TrackingError               (this module)
    ├── PollBudgetTimeout       no poll budget came free in time; the poll waits for later
    ├── PushRejected            a callback request is malformed or unauthenticated (4xx)
    ├── RequeueRefused          a dead letter that may not be sent again
    └── WebhookFailed           the user's webhook did not take an event
        └── WebhookRefused      … and said it never will (a 4xx other than 408/429)
"""

from __future__ import annotations

from nusaworker.errors import NusaWorkerError


class TrackingError(NusaWorkerError):
    """Raised when delivery tracking fails; the root of its errors."""

    retryable = False


class PollBudgetTimeout(TrackingError):
    """Raised when a status poll waited too long for the account's poll budget."""

    retryable = True


class PushRejected(TrackingError):
    """Raised when a callback request is refused; ``status`` is the HTTP answer (4xx)."""

    retryable = False

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class RequeueRefused(TrackingError):
    """Raised when a dead letter may not be sent again (it may have gone, or moved on)."""

    retryable = False


class WebhookFailed(TrackingError):
    """Raised when the webhook did not answer 2xx (timeout, connection error, 5xx, 408, 429)."""

    retryable = True


class WebhookRefused(WebhookFailed):
    """Raised when the webhook answered a 4xx that retrying cannot change."""

    retryable = False
