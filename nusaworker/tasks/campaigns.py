"""The campaign dispatcher: a beat job that keeps each running campaign's window queued.

Every second (``nusaworker.campaigns.dispatch.SCHEDULE``) it ticks every active campaign, each
under its own lock (:meth:`~nusaworker.campaigns.dispatch.Dispatcher.run`): two of these runs
at once (two beats, a slow run) share the campaigns out rather than double them.
"""

from __future__ import annotations

from typing import Any

from nusaworker import container
from nusaworker.campaigns.api import rate_of, store_of
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
