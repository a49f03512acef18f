"""Balance watch logic, pure: snapshots, thresholds, expiry windows, and crossing detection.

A :class:`BalanceSnapshot` is what one watch round learned: NusaSMS ``balance`` (wa, sms, hlr,
sim, pulsa, with expiry dates) and SMS ``command CREDITS`` (``sms_credits``). :func:`evaluate`
turns it into *conditions*, one level per watched type::

    low:<type>        "ok" | "low"                  value below its threshold
    expiry:<type>     "ok" | "soon" | "expired"     expiry date within N days / past

:func:`crossings` compares the levels with the ones the previous round left (stored fleet-wide
by :mod:`.watch`) and yields one alert per change — so a balance that stays low alerts once,
and once more when it is back above its threshold. A condition first seen "ok" says nothing;
first seen bad, it alerts. A type whose value is unknown this round (its call failed) is not
evaluated, so a failed call neither raises nor clears an alert.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nusaworker.credit.alerts import Alert, AlertKind, Severity
from nusaworker.providers import Balance, SmsCredits

__all__ = [
    "BALANCE_TYPES",
    "EXPIRING_TYPES",
    "BalanceSnapshot",
    "crossings",
    "days_left",
    "evaluate",
    "snapshot_from",
]

# "sms" is the SMS balance the JSON API reports; "sms_credits" what SMS v3 CREDITS reports
# (the credit the SMS credentials actually spend).
BALANCE_TYPES = ("wa", "sms", "hlr", "sim", "pulsa", "sms_credits")
EXPIRING_TYPES = ("wa", "sms", "hlr", "sim", "sms_credits")

OK, LOW, SOON, EXPIRED = "ok", "low", "soon", "expired"


@dataclass(frozen=True)
class BalanceSnapshot:
    """Balances and expiry dates of one account at one moment (``at``, epoch seconds)."""

    account: str
    at: float
    balances: Mapping[str, float] = field(default_factory=dict)
    expiry: Mapping[str, dt.date] = field(default_factory=dict)

    def to_json(self) -> str:
        """The snapshot as JSON (what Redis keeps for the CLI and the metrics)."""
        return json.dumps(
            {
                "account": self.account,
                "at": self.at,
                "balances": dict(self.balances),
                "expiry": {k: v.isoformat() for k, v in self.expiry.items()},
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> BalanceSnapshot:
        """Read back what :meth:`to_json` wrote."""
        data = json.loads(text)
        return cls(
            account=str(data["account"]),
            at=float(data["at"]),
            balances={k: float(v) for k, v in data.get("balances", {}).items()},
            expiry={k: dt.date.fromisoformat(v) for k, v in data.get("expiry", {}).items()},
        )


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def snapshot_from(
    account: str, at: float, balance: Balance | None, credits: SmsCredits | None
) -> BalanceSnapshot:
    """Build a snapshot from the provider's answers; either may be missing (call failed)."""
    balances: dict[str, float] = {}
    expiry: dict[str, dt.date] = {}
    if balance is not None:
        for kind in ("wa", "sms", "hlr", "sim", "pulsa"):
            value = getattr(balance, f"{kind}_balance")
            if value is not None:
                balances[kind] = float(value)
            date = _date(getattr(balance, f"{kind}_expired_date", None))
            if date is not None:
                expiry[kind] = date
    if credits is not None:
        if credits.credits is not None:
            balances["sms_credits"] = float(credits.credits)
        date = _date(credits.expired_date)
        if date is not None:
            expiry["sms_credits"] = date
    return BalanceSnapshot(account=account, at=at, balances=balances, expiry=expiry)


def days_left(expiry: dt.date, today: dt.date) -> int:
    """Whole days until ``expiry``; 0 on the day itself (still valid), negative once past."""
    return (expiry - today).days


def evaluate(
    snapshot: BalanceSnapshot,
    thresholds: Mapping[str, float],
    expiry_days: int,
    today: dt.date,
) -> dict[str, str]:
    """The level of every condition that can be judged from ``snapshot``.

    The watched types are the keys of ``thresholds``; a threshold of 0 watches only expiry.
    """
    levels: dict[str, str] = {}
    for kind, threshold in thresholds.items():
        value = snapshot.balances.get(kind)
        if value is not None:
            levels[f"low:{kind}"] = LOW if value < threshold else OK
        expiry = snapshot.expiry.get(kind)
        if expiry is not None and kind in EXPIRING_TYPES:
            left = days_left(expiry, today)
            levels[f"expiry:{kind}"] = EXPIRED if left < 0 else SOON if left <= expiry_days else OK
    return levels


def crossings(
    previous: Mapping[str, str | None],
    current: Mapping[str, str],
    snapshot: BalanceSnapshot,
    thresholds: Mapping[str, float],
    expiry_days: int,
) -> list[Alert]:
    """One alert per condition whose level changed since ``previous`` (``None``: never seen)."""
    alerts = []
    for condition, level in sorted(current.items()):
        before = previous.get(condition)
        if before == level or (before is None and level == OK):
            continue
        what, kind = condition.split(":", 1)
        if what == "low":
            alerts.append(_low_alert(snapshot, kind, level, thresholds[kind]))
        else:
            alerts.append(_expiry_alert(snapshot, kind, level, expiry_days))
    return alerts


def _low_alert(snapshot: BalanceSnapshot, kind: str, level: str, threshold: float) -> Alert:
    value = snapshot.balances[kind]
    details = {"balance_type": kind, "balance": value, "threshold": threshold}
    if level == LOW:
        return Alert(
            kind=AlertKind.BALANCE_LOW,
            severity=Severity.CRITICAL if value <= 0 else Severity.WARNING,
            account=snapshot.account,
            title=f"{kind} balance low: {value:g} (threshold {threshold:g})",
            text=f"The {kind} balance is {value:g}, below its threshold of {threshold:g}. "
            "Top up the account before sends are refused.",
            details=details,
            at=snapshot.at,
        )
    return Alert(
        kind=AlertKind.BALANCE_RECOVERED,
        severity=Severity.INFO,
        account=snapshot.account,
        title=f"{kind} balance recovered: {value:g} (threshold {threshold:g})",
        text=f"The {kind} balance is {value:g}, back at or above its threshold of {threshold:g}.",
        details=details,
        at=snapshot.at,
    )


def _expiry_alert(snapshot: BalanceSnapshot, kind: str, level: str, expiry_days: int) -> Alert:
    expiry = snapshot.expiry[kind]
    details = {"balance_type": kind, "expiry_date": expiry.isoformat(), "window_days": expiry_days}
    if level == EXPIRED:
        return Alert(
            kind=AlertKind.EXPIRED,
            severity=Severity.CRITICAL,
            account=snapshot.account,
            title=f"{kind} balance expired on {expiry.isoformat()}",
            text=f"The {kind} balance expired on {expiry.isoformat()}; sends will be refused "
            "until it is renewed.",
            details=details,
            at=snapshot.at,
        )
    if level == SOON:
        return Alert(
            kind=AlertKind.EXPIRY_NEAR,
            severity=Severity.WARNING,
            account=snapshot.account,
            title=f"{kind} balance expires on {expiry.isoformat()}",
            text=f"The {kind} balance expires on {expiry.isoformat()}, within {expiry_days} "
            "days. Renew it to keep sending.",
            details=details,
            at=snapshot.at,
        )
    return Alert(
        kind=AlertKind.EXPIRY_RECOVERED,
        severity=Severity.INFO,
        account=snapshot.account,
        title=f"{kind} balance valid until {expiry.isoformat()}",
        text=f"The {kind} balance is valid until {expiry.isoformat()}, beyond the "
        f"{expiry_days}-day warning window.",
        details=details,
        at=snapshot.at,
    )
