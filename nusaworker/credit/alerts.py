"""Alerts: what happened to the account (a balance crossed its threshold, a channel paused),
and the fan-out to the configured sinks.

An :class:`Alert` is a plain value; an :class:`AlertSink` delivers it somewhere (a log line, a
signed webhook, an e-mail: :mod:`nusaworker.credit.sinks`). The :class:`Alerter` hands every
alert to every sink; one sink failing never keeps the others from trying, and a failure is
logged with the alert itself, so no alert vanishes without a trace.

Deciding *when* to alert — once per crossing, once per breaker opening — is the job of the
callers (:mod:`.balance`, :mod:`.circuit`), which use Redis to agree fleet-wide; sinks never
de-duplicate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

log = logging.getLogger(__name__)

__all__ = ["Alert", "AlertKind", "AlertSink", "Alerter", "Severity"]


class AlertKind(StrEnum):
    """What an alert is about; a ``*_recovered`` / ``breaker_closed`` ends an earlier one."""

    BALANCE_LOW = "balance_low"
    BALANCE_RECOVERED = "balance_recovered"
    EXPIRY_NEAR = "expiry_near"
    EXPIRED = "expired"
    EXPIRY_RECOVERED = "expiry_recovered"
    BREAKER_OPENED = "breaker_opened"
    BREAKER_CLOSED = "breaker_closed"


class Severity(StrEnum):
    """How urgent: ``critical`` stops traffic, ``warning`` will soon, ``info`` is good news."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Alert:
    """One event worth telling a human about.

    ``account`` is the provider account's fingerprint (never a credential); ``details`` holds
    the machine-readable facts (balance type, value, threshold, channels, reason …).
    """

    kind: AlertKind
    severity: Severity
    account: str
    title: str
    text: str
    details: Mapping[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: what the webhook posts and the log line carries."""
        return {
            "kind": str(self.kind),
            "severity": str(self.severity),
            "account": self.account,
            "title": self.title,
            "text": self.text,
            "details": dict(self.details),
            "at": self.at,
        }


@runtime_checkable
class AlertSink(Protocol):
    """Delivers alerts to one place."""

    name: str

    def send(self, alert: Alert) -> None:
        """Deliver ``alert``; raise :class:`~.errors.AlertDeliveryError` when it could not be."""
        ...


class Alerter:
    """Hands each alert to every sink; returns the names of the sinks that took it."""

    def __init__(self, sinks: Iterable[AlertSink] = ()) -> None:
        self.sinks = list(sinks)

    def __repr__(self) -> str:
        return f"Alerter(sinks={[s.name for s in self.sinks]!r})"

    def send(self, alert: Alert) -> list[str]:
        """Deliver ``alert`` to every sink; never raises (failures are logged)."""
        delivered = []
        for sink in self.sinks:
            try:
                sink.send(alert)
            except Exception as exc:  # a broken sink must not stop the others, nor the caller
                log.error(
                    "alert sink %s failed (%s: %s); the alert was: %s — %s",
                    sink.name,
                    type(exc).__name__,
                    exc,
                    alert.title,
                    alert.text,
                )
            else:
                delivered.append(sink.name)
        return delivered
