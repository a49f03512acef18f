"""What a send costs Redis: script calls and commands, from ``INFO commandstats`` deltas.

The bench runs its own ``redis-server``, so every command it counts came from the bench: the
workers, and the bench process itself (the producer's enqueues). The producer's share is
measured apart — a calibration batch enqueued with no worker running — and subtracted, which
leaves what the fleet spent per send: gate, ledger, broker and the workers' idle polling and
heartbeats over the window, all amortised over the sends.

Redis counts a command run inside a script under its own name too (a ``GET`` in an ``EVALSHA``
adds one to ``get`` and one to ``evalsha``), so "commands" is the server's work, not round
trips. Everything but :func:`sample` is pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis

SCRIPT_COMMANDS = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})
# Issued by the bench to read the figures themselves; never part of a send's cost.
OBSERVER_COMMANDS = frozenset({"info"})
CMDSTAT = "cmdstat_"


@dataclass(frozen=True)
class RedisSample:
    """Cumulative command calls by name and the server's CPU seconds, read together."""

    calls: dict[str, int]
    cpu_s: float


def parse_commandstats(info: Mapping[str, Any]) -> dict[str, int]:
    """Command name → calls from redis-py's parsed ``INFO commandstats``.

    Accepts both shapes redis-py produces: ``{"cmdstat_get": {"calls": 3, …}}`` and the raw
    ``{"cmdstat_get": "calls=3,usec=…"}``. Sub-commands keep their ``|`` name
    (``client|setname``).
    """
    out: dict[str, int] = {}
    for key, value in info.items():
        if not key.startswith(CMDSTAT):
            continue
        name = key[len(CMDSTAT) :].lower()
        if isinstance(value, Mapping):
            out[name] = int(value.get("calls", 0))
        else:
            fields = dict(part.split("=", 1) for part in str(value).split(",") if "=" in part)
            out[name] = int(fields.get("calls", 0))
    return out


def parse_cpu(info: Mapping[str, Any]) -> float:
    """The server's own CPU seconds (user + system of the main process) from ``INFO cpu``."""
    return float(info.get("used_cpu_user", 0.0)) + float(info.get("used_cpu_sys", 0.0))


def sample(client: redis.Redis) -> RedisSample:
    """Read the cumulative counters now (two ``INFO`` calls, not counted as cost)."""
    return RedisSample(
        parse_commandstats(client.info("commandstats")), parse_cpu(client.info("cpu"))
    )


def calls_delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """Calls per command between two samples, without the observer's own commands.

    A counter that went down (``CONFIG RESETSTAT``, a restarted server) counts from zero.
    """
    out: dict[str, int] = {}
    for name, end in after.items():
        if name in OBSERVER_COMMANDS:
            continue
        start = before.get(name, 0)
        diff = end - start if end >= start else end
        if diff:
            out[name] = diff
    return out


def script_calls(calls: Mapping[str, int]) -> int:
    """How many of ``calls`` ran a script (EVAL, EVALSHA, FCALL and their read-only forms)."""
    return sum(n for name, n in calls.items() if name in SCRIPT_COMMANDS)


def subtract_share(
    window: Mapping[str, int], per_unit: Mapping[str, float], units: int
) -> dict[str, float]:
    """``window`` minus ``units`` times a calibrated ``per_unit`` cost, per command (≥ 0)."""
    names = set(window) | set(per_unit)
    out = {name: window.get(name, 0) - units * per_unit.get(name, 0.0) for name in names}
    return {name: max(value, 0.0) for name, value in sorted(out.items()) if value > 1e-9}


def per_unit(calls: Mapping[str, int], units: int) -> dict[str, float]:
    """``calls`` divided by ``units`` (the calibration batch's size)."""
    if units <= 0:
        raise ValueError("per_unit needs at least one unit")
    return {name: n / units for name, n in sorted(calls.items())}


def redis_cost(
    *,
    window: Mapping[str, int],
    producer_per_send: Mapping[str, float] | None,
    sends: int,
    cpu_s: float,
    top: int = 8,
) -> dict[str, Any]:
    """Per-send Redis figures of one run.

    ``window``: command calls from just before the first enqueue to just after the last send
    settled; ``producer_per_send``: the producer's calibrated calls per enqueue (``None`` when
    it could not be measured: the fleet's figures then include the producer's, and say so).
    """
    if sends <= 0:
        raise ValueError("redis_cost needs at least one send")
    fleet: Mapping[str, float] = (
        window if producer_per_send is None else subtract_share(window, producer_per_send, sends)
    )
    fleet_total = sum(fleet.values())
    fleet_scripts = sum(n for name, n in fleet.items() if name in SCRIPT_COMMANDS)
    busiest = sorted(fleet.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    out: dict[str, Any] = {
        "sends": sends,
        "script_calls_per_send": round(fleet_scripts / sends, 3),
        "commands_per_send": round(fleet_total / sends, 2),
        "top_commands_per_send": {name: round(n / sends, 3) for name, n in busiest},
        "producer_subtracted": producer_per_send is not None,
        "window_script_calls": script_calls(window),
        "window_commands": sum(window.values()),
        "redis_cpu_s_per_1000_sends": round(cpu_s / sends * 1000, 3),
    }
    if producer_per_send is not None:
        out["producer_script_calls_per_send"] = round(
            sum(n for name, n in producer_per_send.items() if name in SCRIPT_COMMANDS), 3
        )
        out["producer_commands_per_send"] = round(sum(producer_per_send.values()), 2)
    return out
