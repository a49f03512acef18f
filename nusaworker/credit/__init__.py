"""Balances, credit and circuit breakers: never burn a queue against an empty or locked account.

    cost.py       credit cost of a message / a list, and a pre-flight check (pure)
    balance.py    balance snapshots, thresholds, expiry windows, crossing detection (pure)
    watch.py      the balance watch: read through the gate, store, alert once per crossing
    alerts.py     the Alert value and the fan-out to sinks (sinks/: log, webhook, smtp)
    breakers.py   per account+channel breaker state in Redis (open/closed, reason, since)
    circuit.py    breakers + holding paused messages + alerts + re-enqueue on resume
    probe.py      the beat probe that closes a breaker when the account is fine again
    metrics.py    Prometheus gauges read from Redis
    tasks.py      beat jobs (``nusaworker.housekeeping.*``); schedule.py their beat entries

Importing this package does not import the Celery app (``celeryconfig`` imports
:mod:`.schedule`); the Celery-bound pieces are in :mod:`.tasks` and :mod:`.context`.
"""

from nusaworker.credit.alerts import Alert, Alerter, AlertKind, AlertSink, Severity
from nusaworker.credit.balance import BalanceSnapshot, crossings, evaluate, snapshot_from
from nusaworker.credit.breakers import BreakerBoard, BreakerState, is_paused, trip_plan
from nusaworker.credit.cost import (
    Cost,
    Preflight,
    message_cost,
    messages_cost,
    preflight,
    sms_cost,
    wa_text_cost,
)

__all__ = [
    "Alert",
    "AlertKind",
    "AlertSink",
    "Alerter",
    "BalanceSnapshot",
    "BreakerBoard",
    "BreakerState",
    "Cost",
    "Preflight",
    "Severity",
    "crossings",
    "evaluate",
    "is_paused",
    "message_cost",
    "messages_cost",
    "preflight",
    "sms_cost",
    "snapshot_from",
    "trip_plan",
    "wa_text_cost",
]
