"""Beat jobs of the credit feature; names start ``nusaworker.housekeeping.`` so that routing
puts them on the ``housekeeping`` queue. Thin: the logic is in :mod:`nusaworker.credit.probe`
and :mod:`nusaworker.credit.watch`.

Beat ticks often (see :mod:`nusaworker.credit.schedule`); each job spaces its own provider
calls by its setting (``breaker_probe_interval_s``, ``balance_watch_interval_s``) through a
Redis lock, so the intervals are set like any other setting and hold fleet-wide, whatever the
number of beats.
"""

from __future__ import annotations

from typing import Any

from nusaworker import container
from nusaworker.celery import app
from nusaworker.credit.parts import Credit
from nusaworker.credit.probe import can_probe, run_probe
from nusaworker.credit.schedule import PROBE_TASK, WATCH_TASK
from nusaworker.settings import DEFAULT_ACCOUNT


@app.task(name=PROBE_TASK, ignore_result=True)
def probe_breakers(force: bool = False) -> dict[str, Any]:
    """Probe paused channels through the gate; resume those whose account is fine again."""
    rt = container.current()
    reports = {
        name: run_probe(
            credit.circuit,
            rt.clients[name],
            interval_s=rt.settings.breaker_probe_interval_s,
            min_credit=rt.settings.breaker_resume_min_credit,
            force=force,
        ).to_dict()
        for name, credit in _watched_accounts(rt)
    }
    return reports[DEFAULT_ACCOUNT] if len(reports) == 1 else reports


@app.task(name=WATCH_TASK, ignore_result=True)
def balance_watch(force: bool = False) -> dict[str, Any]:
    """Read balances and SMS credits through the gate; alert on threshold/expiry crossings."""
    rt = container.current()
    reports = {
        name: credit.watch.run(
            rt.clients[name],
            circuit=credit.circuit,
            interval_s=rt.settings.balance_watch_interval_s,
            force=force,
        ).to_dict()
        for name, credit in _watched_accounts(rt)
    }
    return reports[DEFAULT_ACCOUNT] if len(reports) == 1 else reports


def _watched_accounts(rt: container.Container) -> list[tuple[str, Credit]]:
    # The accounts whose provider has calls to read its money (nusaworker.credit.wallets),
    # the default one first, so a single-account fleet reports as before.
    return [
        (name, credit)
        for name, credit in rt.credits.items()
        if can_probe(rt.accounts.account(name).provider)
    ]
