"""Campaign beat jobs: the dispatcher, and the recurring campaigns' runs.

``campaigns`` — every second (``nusaworker.campaigns.dispatch.SCHEDULE``) it ticks every active
campaign, each under its own lock (:meth:`~nusaworker.campaigns.dispatch.Dispatcher.run`): two
of these runs at once (two beats, a slow run) share the campaigns out rather than double them.

``recurring_campaigns`` — every 5 s (``nusaworker.campaigns.recurring.SCHEDULE``) it starts the
recurring campaigns due, each fire time once fleet-wide (a ``SET NX`` claim per fire time), so
two beats, or a beat and a late run of the same job, never start one twice.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from nusaworker import container
from nusaworker.campaigns.api import Campaigns, rate_of, store_of
from nusaworker.campaigns.dispatch import Dispatcher
from nusaworker.campaigns.store import campaign_of
from nusaworker.celery import app
from nusaworker.phonecheck import PhoneChecks
from nusaworker.routing import enqueue_send

log = logging.getLogger(__name__)


@app.task(name="nusaworker.housekeeping.campaigns")
def campaigns() -> dict[str, Any]:
    """One tick of every active campaign."""
    ticks = dispatcher_of(container.current()).run()
    return {
        "campaigns": len(ticks),
        "dispatched": sum(t.dispatched for t in ticks),
        "events": [f"{t.campaign_id}:{e}" for t in ticks for e in t.events],
    }


def top_up(message_id: str) -> None:
    """After a campaign's message ended its send task: hand out the next (the campaign is
    self-clocked). Never fails the send task: the next tick does what this could not."""
    campaign_id = campaign_of(message_id)
    if campaign_id is None:
        return
    try:
        dispatcher_of(container.current()).top_up(campaign_id)
    except Exception:  # Redis, the broker, a row that no longer validates: all wait for a tick
        log.exception("campaign %s: top-up after %s failed", campaign_id, message_id)


_lock = threading.Lock()
_dispatchers: dict[int, Dispatcher] = {}


def dispatcher_of(c: container.Container) -> Dispatcher:
    """This process's dispatcher (one per container: its accounts table is read once)."""
    with _lock:
        found = _dispatchers.get(id(c))
        if found is None:
            settings = c.settings
            found = _dispatchers[id(c)] = Dispatcher(
                store_of(c.redis, settings),
                c.ledger,
                enqueue=lambda message_id, channel, priority: enqueue_send(
                    app.send_task, message_id, channel, priority
                ),
                rate_of=rate_of(settings),
                phone_checks=PhoneChecks.from_settings(c.redis, settings),
                in_flight=settings.campaign_in_flight,
                auto_timeout_s=settings.campaign_auto_timeout_s,
            )
        return found


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
