"""Every Celery task of the fleet, and the signals that wire a worker process.

Tasks are thin: they read this process's :class:`~nusaworker.container.Container` and call
the product's logic (delivery, the credit and tracking features). Task names are the public
contract (``nusaworker.send``, ``nusaworker.status.*``, ``nusaworker.housekeeping.*``);
routing sends them by name (:func:`nusaworker.routing.route_task`).

    send.py      the send task (any channel)
    credit.py    beat jobs: breaker probes, balance watch
    failover.py  beat job: each account's delivery speed (the slow-delivery failover)
    tracking.py  status polls, events and hooks, housekeeping and recovery sweeps
    phonecheck.py  beat job: coalesced phone checks, 100 numbers per hit
    campaigns.py beat job: the campaign dispatcher (each campaign's window on the broker)
    process.py   worker signals: identity, container, warm-up, pacing stats
"""

from nusaworker.tasks import campaigns, credit, failover, phonecheck, process, send, tracking

__all__ = ["campaigns", "credit", "failover", "phonecheck", "process", "send", "tracking"]
