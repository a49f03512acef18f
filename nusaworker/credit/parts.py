"""The credit objects of one process (worker or CLI), built from settings by the container
(:mod:`nusaworker.container`) or by a command (:mod:`.commands`)."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from nusaworker.credit.alerts import Alerter
from nusaworker.credit.breakers import BreakerBoard
from nusaworker.credit.circuit import Circuit, Enqueue
from nusaworker.credit.sinks import build_sinks
from nusaworker.credit.watch import BalanceWatch
from nusaworker.ledger import Ledger
from nusaworker.settings import Settings


@dataclass
class Credit:
    """Breakers, circuit, balance watch and alert sinks of one provider account."""

    settings: Settings
    board: BreakerBoard
    circuit: Circuit
    watch: BalanceWatch
    alerter: Alerter

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        redis_client: redis.Redis,
        ledger: Ledger,
        account: str,
        enqueue: Enqueue | None = None,
        alerter: Alerter | None = None,
    ) -> Credit:
        """Build from settings; ``account`` is the provider client's pacing fingerprint."""
        alerter = alerter if alerter is not None else Alerter(build_sinks(settings))
        board = BreakerBoard(redis_client, account=account, keys=ledger.keys)
        circuit = Circuit(
            board, ledger, alerter=alerter, enqueue=enqueue, hold_s=settings.breaker_hold_s
        )
        watch = BalanceWatch(
            redis_client,
            account=account,
            keys=ledger.keys,
            alerter=alerter,
            thresholds=settings.balance_thresholds,
            expiry_days=settings.balance_expiry_days,
        )
        return cls(settings, board, circuit, watch, alerter)
