"""What the causal gate's Redis keys tell an onlooker about an account, read in one round trip.

The turn script (``lua/turn.lua``) counts every reported hit in the account's turn hash: in all
(``hits``), in the current second of Redis's clock (``sec``, ``sec_hits``) and in the second
before it (``prev_hits``). A reader gets the hits of the last second from that without keeping
state of its own: the previous second's count weighted by the part of it still inside the last
second, plus the current one's (:func:`hits_per_s`; the usual sliding-window estimate).

The hash lives as long as the account is used (``TURN_TTL_S`` after its last call): an account
idle for a minute reads as zero hits, total included. The slots gate (``pacing_gate="slots"``)
keeps no such counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from nusaworker.keys import Keys
from nusaworker.redis_scripts import as_text

__all__ = ["PaceReading", "hits_per_s", "read_paces"]

_FIELDS = ("hits", "sec", "sec_hits", "prev_hits", "last", "holder")


@dataclass(frozen=True)
class PaceReading:
    """One account's gate at one moment (Redis's clock)."""

    account: str
    hits_per_s: float
    hits: int
    waiting: int
    busy: bool
    last_hit_age_s: float | None


def hits_per_s(sec: int, sec_hits: int, prev_hits: int, now_us: int) -> float:
    """Hits in the second before ``now_us`` from the per-second counts of the turn hash.

    ``sec`` is the second (of the same clock) the counts were last written in: ``sec_hits``
    in it, ``prev_hits`` in the second before it. The second before ``now`` overlaps the
    current second wholly and the previous one by the part of it not elapsed yet.
    """
    now_sec, into = divmod(now_us, 1_000_000)
    rest = 1.0 - into / 1_000_000
    if sec == now_sec:
        return sec_hits + prev_hits * rest
    if sec == now_sec - 1:
        return sec_hits * rest
    return 0.0


def read_paces(client: redis.Redis, keys: Keys, accounts: Iterable[str]) -> list[PaceReading]:
    """The gate readings of ``accounts`` (pacing fingerprints), in one pipeline."""
    names = list(accounts)
    pipe = client.pipeline(transaction=False)
    pipe.time()
    for account in names:
        pipe.hmget(keys.pace_turn(account), _FIELDS)
        pipe.zcard(keys.pace_queue(account))
    return _readings(names, pipe.execute())


def _readings(names: list[str], replies: list[Any]) -> list[PaceReading]:
    seconds, micros = replies[0]
    now_us = int(seconds) * 1_000_000 + int(micros)
    out = []
    for i, account in enumerate(names):
        fields = _fields(replies[1 + 2 * i])
        last = fields.get("last", 0)
        out.append(
            PaceReading(
                account=account,
                hits_per_s=hits_per_s(
                    fields.get("sec", 0),
                    fields.get("sec_hits", 0),
                    fields.get("prev_hits", 0),
                    now_us,
                ),
                hits=fields.get("hits", 0),
                waiting=int(replies[2 + 2 * i]),
                busy=fields.get("holder", 0) != 0,
                last_hit_age_s=(now_us - last) / 1e6 if last else None,
            )
        )
    return out


def _fields(values: list[Any]) -> Mapping[str, int]:
    """The hash's numeric fields (the holder only as present or not)."""
    out: dict[str, int] = {}
    for name, value in zip(_FIELDS, values, strict=True):
        if value is None:
            continue
        text = as_text(value)
        out[name] = 1 if name == "holder" else int(float(text))
    return out
