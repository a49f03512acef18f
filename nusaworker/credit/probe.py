"""Probing paused channels: one cheap provider call decides whether a breaker may close.

A beat job (:func:`nusaworker.tasks.credit.probe_breakers`) calls :func:`run_probe` every few
seconds; at most one probe per ``breaker_probe_interval_s`` reaches the provider, fleet-wide.
The probe asks through the pacing gate like any hit:

    JSON API channels paused    GET balance          wa_balance, wa_expired_date
    sms paused                  SMS command CREDITS  credits, expired_date

and :func:`may_close` judges each breaker from the answer (pure, unit-tested):

    reason "auth"     the call succeeded: the credentials work again
    reason "credit"   the wallet holds at least max(the channel's cheapest message,
                      breaker_resume_min_credit) and its expiry date is not past
    reason "manual"   never: only ``nusaworker resume`` ends a manual pause
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nusaworker.channels import CHANNELS, of_api
from nusaworker.credit.breakers import BreakerState
from nusaworker.credit.circuit import Circuit
from nusaworker.credit.clock import provider_today
from nusaworker.credit.cost import MIN_COST
from nusaworker.credit.wallets import family_of, wachat_quota
from nusaworker.errors import NusaWorkerError
from nusaworker.providers import NusaSMSClient

log = logging.getLogger(__name__)

__all__ = ["ProbeReport", "WalletReading", "may_close", "run_probe"]


@dataclass(frozen=True)
class WalletReading:
    """What a successful probe call said about one wallet (either value may be missing)."""

    balance: float | None
    expiry: dt.date | None


def may_close(
    state: BreakerState, reading: WalletReading | None, *, today: dt.date, min_credit: float
) -> bool:
    """Whether the probe's ``reading`` (``None``: the call failed) lets ``state`` close."""
    if not state.open or reading is None:
        return False
    if state.reason == "auth":
        return True
    if state.reason != "credit":
        return False
    if reading.expiry is not None and reading.expiry < today:
        return False
    need = max(float(MIN_COST.get(state.channel, 1)), min_credit)
    return reading.balance is not None and reading.balance >= need


@dataclass
class ProbeReport:
    """What one probe run did (JSON-safe through :meth:`to_dict`)."""

    open: list[str] = field(default_factory=list)
    probed: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    requeued: int = 0
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "probed": self.probed,
            "closed": self.closed,
            "requeued": self.requeued,
            "skipped": self.skipped,
        }


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def _read_json_wallet(client: NusaSMSClient) -> WalletReading | None:
    try:
        balance = client.get_balance(priority="normal")
    except NusaWorkerError as exc:  # auth still refused, provider down, gate down …
        log.info("breaker probe: balance call failed (%s: %s)", type(exc).__name__, exc)
        return None
    return WalletReading(balance.wa_balance, _as_date(balance.wa_expired_date))


def _read_sms_wallet(client: NusaSMSClient) -> WalletReading | None:
    try:
        credits = client.get_sms_credits(priority="normal")
    except NusaWorkerError as exc:
        log.info("breaker probe: CREDITS call failed (%s: %s)", type(exc).__name__, exc)
        return None
    return WalletReading(credits.credits, _as_date(credits.expired_date))


def _read_wachat_quota(client: Any) -> WalletReading | None:
    try:
        quota = wachat_quota(client, pick=max)
    except NusaWorkerError as exc:
        log.info("breaker probe: WAChat call failed (%s: %s)", type(exc).__name__, exc)
        return None
    # The key works; with no watched sender the quota is unknown and a credit pause stays.
    return WalletReading(quota, None)


Reader = Callable[[Any], WalletReading | None]
# Per provider family, each account API's wallet and the call that reads it (the channel
# table's ``api`` column). A family or an API not listed cannot be probed.
_WALLET_READERS: dict[str, dict[str, tuple[str, Reader]]] = {
    "nusasms": {"json": ("balance", _read_json_wallet), "sms": ("credits", _read_sms_wallet)},
    "wachat": {"json": ("quota", _read_wachat_quota)},
}


def can_probe(provider: str) -> bool:
    """Whether accounts of ``provider`` have a call that reads their money (probe, watch)."""
    return provider in _WALLET_READERS


def run_probe(
    circuit: Circuit,
    client: NusaSMSClient,
    *,
    interval_s: float,
    min_credit: float = 1.0,
    force: bool = False,
    today: dt.date | None = None,
) -> ProbeReport:
    """Probe the paused channels of ``circuit``'s account and resume those that may close.

    Without ``force`` at most one probe per ``interval_s`` calls the provider, fleet-wide.
    Held records of channels that are already closed are re-enqueued on every run (cheap).
    """
    states = circuit.board.states()
    report = ProbeReport(open=[c for c, s in states.items() if s.open])
    auto = {c: s for c, s in states.items() if s.open and s.reason in ("auth", "credit")}
    if not auto:
        report.requeued = circuit.sweep_held(states)
        report.skipped = "nothing to probe"
        return report
    if not force and not circuit.board.try_probe_slot(interval_s):
        report.skipped = "probed within the interval"
        return report
    day = today or provider_today(circuit.clock())
    readings: dict[str, WalletReading | None] = {}
    readers = _WALLET_READERS.get(family_of(client), {})
    for api in dict.fromkeys(CHANNELS[c].api for c in auto if c in CHANNELS):
        if api not in readers:
            continue
        name, read = readers[api]
        report.probed.append(name)
        reading = read(client)
        readings.update({c: reading for c in of_api(api)})
    closable = [
        c
        for c, s in auto.items()
        if may_close(s, readings.get(c), today=day, min_credit=min_credit)
    ]
    if closable:
        resumed = circuit.resume(closable, by="probe", reasons=("auth", "credit"))
        report.closed = resumed.channels
        report.requeued = resumed.requeued
    return report
