"""Errors of the credit package (balances, alerts, breakers); part of the tree in
:mod:`nusaworker.errors`::

    NusaWorkerError
    └── AlertDeliveryError      an alert sink could not hand an alert on
"""

from __future__ import annotations

from nusaworker.errors import NusaWorkerError


class AlertDeliveryError(NusaWorkerError):
    """Raised when an alert sink (webhook, SMTP) could not deliver an alert."""

    retryable = True
