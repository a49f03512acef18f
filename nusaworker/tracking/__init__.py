"""Delivery tracking: following every sent message to its final state, and telling the backend.

::

    beat ─▶ status.dispatch_polls ─▶ status.poll ─▶ provider (poll budget + bulk pacing slot)
                                              └──▶ ledger: final state, or next poll by cadence
    provider pushes ─▶ callback receiver (WSGI) ─▶ ledger (or parked until the send records
                                                   the ref_no) · inbox stream
    ledger moves, inbound ─▶ events stream ─▶ status.dispatch_events ─▶ signal · backend task
                                                                       · signed webhook
    beat ─▶ housekeeping.replay (lost sends) · .expire (past the horizon) · .sweep_parked

Modules, one concept each: :mod:`.statuses` (provider code → state), :mod:`.cadence` (when to
poll again), :mod:`.budget` (poll share of the account), :mod:`.poller`, :mod:`.pushes`
(parsing), :mod:`.callbacks` (the WSGI app), :mod:`.receiver` / :mod:`.wsgi` (serving it),
:mod:`.inbox`, :mod:`.events`, :mod:`.hooks`, :mod:`.webhook`, :mod:`.housekeeping`,
:mod:`.jobs` (per-run locks), :mod:`.schedule` (beat entries), :mod:`.tasks` (Celery glue),
:mod:`.runtime`, :mod:`.beat` (beat processes for tests and benches), :mod:`.bench`.

Importing this package does not import the Celery app; :mod:`.tasks` does.
"""

from nusaworker.tracking.callbacks import CallbackApp
from nusaworker.tracking.hooks import message_event
from nusaworker.tracking.webhook import verify_signature

__all__ = ["CallbackApp", "message_event", "verify_signature"]
