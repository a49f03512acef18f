"""``nusaworker routes``: the routes in force, each account's health, and where traffic goes now.

Read-only and hit-free: it reads the breakers (:mod:`.breakers`) and the failover error
windows (:mod:`nusaworker.failover`) from Redis, and makes the same choice a worker would make
for the next message of each route (:func:`nusaworker.failover.choose`).
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from nusaworker.accounts import AccountTable
from nusaworker.credit.breakers import BreakerBoard
from nusaworker.factories import account_client, keys_of, ledger_of
from nusaworker.failover import choose, health_of
from nusaworker.settings import Settings


def report(settings: Settings) -> dict[str, Any]:
    """Every route with its accounts' health and the account that sends now."""
    table = AccountTable.from_settings(settings)
    redis_client, _ = ledger_of(settings)
    keys = keys_of(settings)
    health = health_of(redis_client, keys, settings)
    try:
        boards: dict[str, BreakerBoard] = {}
        for name, account in table.accounts.items():
            # The breakers are keyed by the client's pacing fingerprint: building the client
            # learns it without a hit.
            with account_client(settings, account) as client:
                boards[name] = BreakerBoard(redis_client, account=client.account, keys=keys)
        accounts = {
            name: {
                "provider": account.provider,
                "min_interval_ms": account.min_interval_ms,
                "slow": health.is_slow(name),
            }
            for name, account in table.accounts.items()
        }
        routes = []
        for key, names in table.table():
            channel = key.partition(":")[0]
            paused = {n: boards[n].state(channel) for n in names}
            is_open = {n: state.open for n, state in paused.items()}
            degraded = {n: health.degraded(n, channel) for n in names}
            choice = choose(names, paused=is_open.__getitem__, degraded=degraded.__getitem__)
            routes.append(
                {
                    "route": key,
                    "accounts": list(names),
                    "paused": {n: s.reason for n, s in paused.items() if s.open},
                    "errors": {n: health.errors(n, channel) for n in names},
                    "degraded": sorted(n for n, bad in degraded.items() if bad),
                    "now": choice.account,
                    "held": choice.held,
                }
            )
    finally:
        redis_client.close()
    return {
        "accounts": accounts,
        "routes": routes,
        "failover": {
            "error_threshold": settings.failover_error_threshold,
            "error_window_s": settings.failover_error_window_s,
        },
    }


def print_routes(settings: Settings, out: TextIO, *, as_json: bool = False) -> int:
    """Print :func:`report` as a table (or JSON). Exit status 0."""
    data = report(settings)
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True), file=out)
        return 0
    failover = data["failover"]
    print("accounts:", file=out)
    for name, info in data["accounts"].items():
        state = "SLOW delivery" if info["slow"] else "ok"
        print(
            f"  {name:<16} {info['provider']:<14} 1 hit / {info['min_interval_ms']:g} ms  {state}",
            file=out,
        )
    print(
        f"routes (an account is degraded for a channel at {failover['error_threshold']} "
        f"errors in {failover['error_window_s']:g} s):",
        file=out,
    )
    for route in data["routes"]:
        marks = []
        for name in route["accounts"]:
            notes = []
            if route["paused"].get(name):
                notes.append(f"paused: {route['paused'][name]}")
            if name in route["degraded"]:
                notes.append(f"degraded: {route['errors'][name]} errors")
            mark = f"{name} ({'; '.join(notes)})" if notes else name
            marks.append(f"[{mark}]" if name == route["now"] else mark)
        now = "held: every account paused" if route["held"] else f"now → {route['now']}"
        print(f"  {route['route']:<20} {' > '.join(marks):<50} {now}", file=out)
    return 0
