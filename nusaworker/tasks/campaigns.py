"""Campaign beat jobs: the dispatcher, and the recurring campaigns' runs.

``campaigns`` — every second (``nusaworker.campaigns.dispatch.SCHEDULE``) it ticks every active
campaign, each under its own lock (:meth:`~nusaworker.campaigns.dispatch.Dispatcher.run`): two
of these runs at once (two beats, a slow run) share the campaigns out rather than double them.

``recurring_campaigns`` — every 5 s (``nusaworker.campaigns.recurring.SCHEDULE``) it starts the
recurring campaigns due, each fire time once fleet-wide (a ``SET NX`` claim per fire time), so
two beats, or a beat and a late run of the same job, never start one twice.
"""

from __future__ import annotations

from typing import Any

from nusaworker import container
from nusaworker.campaigns.api import Campaigns, rate_of, store_of
from nusaworker.campaigns.dispatch import Dispatcher
from nusaworker.celery import app
from nusaworker.phonecheck import PhoneChecks
from nusaworker.routing import enqueue_send


@app.task(name="nusaworker.housekeeping.campaigns")
def campaigns() -> dict[str, Any]:
    """One tick of every active campaign."""
    c = container.current()
    settings = c.settings
    dispatcher = Dispatcher(
        store_of(c.redis, settings),
        c.ledger,
        enqueue=lambda message_id, channel, priority: enqueue_send(
            app.send_task, message_id, channel, priority
        ),
        rate_of=rate_of(settings),
        phone_checks=PhoneChecks.from_settings(c.redis, settings),
        window_s=settings.campaign_window_s,
        auto_timeout_s=settings.campaign_auto_timeout_s,
    )
    ticks = dispatcher.run()
    return {
        "campaigns": len(ticks),
        "dispatched": sum(t.dispatched for t in ticks),
        "events": [f"{t.campaign_id}:{e}" for t in ticks for e in t.events],
    }


@app.task(name="nusaworker.housekeeping.recurring_campaigns")
def recurring_campaigns() -> dict[str, Any]:
    """Start the recurring campaigns due now (each one's recipients come from the backend's
    callable, imported and called in this worker)."""
    c = container.current()
    campaigns = Campaigns(
        store_of(c.redis, c.settings),
        c.ledger,
        enqueue=lambda message_id, channel, priority: enqueue_send(
            app.send_task, message_id, channel, priority
        ),
        balances=_last_balances(c),
    )
    runs = campaigns.recurring.run_due(campaigns.start_recurring)
    return {"started": [f"{r.name}:{r.campaign_id or r.outcome}" for r in runs]}


def _last_balances(c: container.Container) -> Any:
    """The pre-flight's balances for a run started by beat: the balance watch's last reading
    of the default account (no live provider hit from a housekeeping job). A wallet never read
    is unknown, which refuses the run unless its definition says ``force``."""

    def read() -> dict[str, float | None]:
        snapshot = c.credit.watch.last_snapshot()
        found = dict(snapshot.balances) if snapshot is not None else {}
        return {"wa": found.get("wa"), "sms": found.get("sms_credits", found.get("sms"))}

    return read
