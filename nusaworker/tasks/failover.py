"""Beat's failover job: judge every account's delivery speed (thin: the logic is in
:mod:`nusaworker.failover`)."""

from __future__ import annotations

from typing import Any

from nusaworker import container
from nusaworker.celery import app
from nusaworker.failover import ASSESS_TASK


@app.task(name=ASSESS_TASK, ignore_result=True)
def assess_accounts() -> dict[str, Any]:
    """Judge each account's delivery speed; a slow one is passed over while it stays slow."""
    rt = container.current()
    health = rt.routes.health
    verdicts = {
        name: health.assess(name, rt.ledger.states).__dict__ for name in rt.accounts.accounts
    }
    return verdicts
