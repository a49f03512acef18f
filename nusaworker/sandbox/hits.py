"""The hit log: every request to a provider path, with the per-account gap rule and stats.

A *hit* is timestamped on the ``time.monotonic()`` clock when its first byte reached the host
(kernel receive time where available, see :mod:`.arrival`), before any parsing, fault latency
or body work. The gap rule compares a hit with the previous
hit of the same account, whatever that one was answered (429s count as previous hits too).
Not thread-safe on its own: the sandbox state calls it under its single lock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any


@dataclass
class Hit:
    """One request to a provider path."""

    index: int
    t: float  # time.monotonic() at arrival
    account: str
    method: str
    path: str  # without query string: the SMS password rides there
    kind: str  # "send" | "read" | "other"
    gap_ms: float | None  # distance to the previous hit of the same account
    violation: bool
    status: int | None = None  # final HTTP status; 0 when the connection was dropped
    fault: str | None = None
    accepted: bool = False  # a send whose side effects happened (message recorded, charged)
    ref_no: str | None = None  # what the accepted send created (ref_no, or SMS group campaign)
    kernel_stamp: bool = False  # ``t`` is the kernel's receive time, not the read time

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {
            "index": self.index,
            "t": self.t,
            "account": self.account,
            "method": self.method,
            "path": self.path,
            "kind": self.kind,
            "gap_ms": self.gap_ms,
            "violation": self.violation,
            "status": self.status,
            "fault": self.fault,
            "accepted": self.accepted,
            "ref_no": self.ref_no,
            "kernel_stamp": self.kernel_stamp,
        }


@dataclass
class AccountTally:
    """Running per-account counters (kept incrementally so stats stay cheap)."""

    hits: int = 0
    violations: int = 0
    min_gap_ms: float | None = None
    accepted_sends: int = 0
    first_hit: float | None = None
    last_hit: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {
            "hits": self.hits,
            "violations": self.violations,
            "min_gap_ms": self.min_gap_ms,
            "accepted_sends": self.accepted_sends,
            "first_hit": self.first_hit,
            "last_hit": self.last_hit,
        }


class HitLog:
    """Hits in arrival-registration order, per-account tallies and status counts."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.tallies: dict[str, AccountTally] = {}
        self.by_status: Counter[str] = Counter()

    def clear(self) -> None:
        """Forget every hit and counter."""
        self.hits.clear()
        self.tallies.clear()
        self.by_status.clear()

    def record(
        self,
        t: float,
        account: str,
        method: str,
        path: str,
        kind: str,
        *,
        min_interval_s: float,
        rule_applies: bool,
        kernel_stamp: bool = False,
    ) -> Hit:
        """Register a hit that arrived at ``t`` and judge it against the gap rule."""
        tally = self.tallies.setdefault(account, AccountTally())
        gap_ms: float | None = None
        if tally.last_hit is not None:
            # Threads may register hits slightly out of arrival order: the distance is what
            # matters, and the clock only moves forward.
            gap_ms = abs(t - tally.last_hit) * 1000.0
        violation = (
            rule_applies
            and gap_ms is not None
            and min_interval_s > 0
            and gap_ms < min_interval_s * 1000.0
        )
        tally.hits += 1
        tally.violations += int(violation)
        if gap_ms is not None and (tally.min_gap_ms is None or gap_ms < tally.min_gap_ms):
            tally.min_gap_ms = gap_ms
        tally.first_hit = t if tally.first_hit is None else min(tally.first_hit, t)
        tally.last_hit = t if tally.last_hit is None else max(tally.last_hit, t)
        hit = Hit(len(self.hits), t, account, method, path, kind, gap_ms, violation)
        hit.kernel_stamp = kernel_stamp
        self.hits.append(hit)
        return hit

    def finish(
        self, hit: Hit, status: int, *, fault: str | None, accepted: bool, ref_no: str | None = None
    ) -> None:
        """Record how a hit was answered."""
        hit.status = status
        hit.fault = fault
        hit.accepted = accepted
        hit.ref_no = ref_no
        self.by_status[str(status)] += 1
        if accepted:
            self.tallies[hit.account].accepted_sends += 1

    def stats(self) -> dict[str, Any]:
        """Totals, per-account tallies and answers by HTTP status."""
        gaps = [t.min_gap_ms for t in self.tallies.values() if t.min_gap_ms is not None]
        return {
            "hits": len(self.hits),
            "violations": sum(t.violations for t in self.tallies.values()),
            "min_gap_ms": min(gaps) if gaps else None,
            "accepted_sends": sum(t.accepted_sends for t in self.tallies.values()),
            "accounts": {name: t.as_dict() for name, t in self.tallies.items()},
            "by_status": dict(self.by_status),
        }

    def as_list(
        self, *, account: str | None = None, kind: str | None = None
    ) -> list[dict[str, Any]]:
        """Hits as dicts, optionally only one account's or one kind's."""
        return [
            h.as_dict()
            for h in self.hits
            if (account is None or h.account == account) and (kind is None or h.kind == kind)
        ]
