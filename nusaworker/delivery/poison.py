"""Poison work: a send that failed in a way nobody handled ends here, never in a retry loop.

What lands here: a record that cannot be read (:class:`~nusaworker.ledger.CorruptRecord`), a
channel that is no row of the table, a bug, an exception class nobody expected — anywhere in
:func:`~nusaworker.delivery.deliver`, before or after the claim. Retrying would fail the same
way; handing the task back to the broker would loop it for ever; letting it escape the task
would leave the record ``sending`` under a live worker's lease, where nothing resolves it. So
the record is ended by what the stored fields still say (:func:`~.decide.on_poison`): an
unclaimed ``accepted`` record is ``rejected``; one this task claimed is ``failed`` — or
``unknown`` once its hit began, since a hit that may have gone is never followed by another.
The reason goes into the record's ``error``; the move puts the message on the dead-letter
stream (``nusaworker dead-letters``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from nusaworker.delivery import decide
from nusaworker.delivery.decide import Action
from nusaworker.errors import NusaWorkerError
from nusaworker.ledger import Fenced, Ledger, MessageState, describe_error

__all__ = ["Ended", "end_poisoned", "poison_reason"]

log = logging.getLogger("nusaworker.delivery")

_STATES = {state.value: state for state in MessageState}


@dataclass(frozen=True)
class Ended:
    """What became of a poisoned record: its state now (``None``: not one this version knows)."""

    state: MessageState | None
    error: str


def poison_reason(exc: BaseException) -> str:
    """The ``error`` of a record ended by ``exc``: an error of ours says what it is; anything
    else is marked unexpected (a bug to report, not a provider's verdict)."""
    text = describe_error(exc)
    return text if isinstance(exc, NusaWorkerError) else describe_error(f"Unexpected {text}")


def end_poisoned(
    ledger: Ledger, message_id: str, exc: BaseException, *, token: str | None
) -> Ended:
    """End record ``message_id`` after ``exc`` escaped its delivery; ``token`` is the claim
    this task holds (``None``: none). Never raises but for Redis out of reach."""
    reason = poison_reason(exc)
    # A traceback for what nobody foresaw; our own errors say enough in one line.
    log.error(
        "message %s: %s; no retry can fix it, it ends here",
        message_id, reason, exc_info=not isinstance(exc, NusaWorkerError),
    )  # fmt: skip
    try:
        raw = ledger.fields(message_id, "state", "hit_started")
        action = decide.on_poison(
            raw["state"], holding=token is not None, hit_started=raw["hit_started"] == "1"
        )
        if action is Action.MARK_REJECTED:
            # Only from accepted: a claim that won the race since the read is not ours to end.
            ledger.mark_rejected(message_id, reason, only_from=MessageState.ACCEPTED)
        elif action is Action.MARK_FAILED:
            ledger.mark_failed(message_id, reason, token=token)
        elif action is Action.MARK_UNKNOWN:
            ledger.mark_unknown(message_id, reason, token=token)
    except Fenced:
        log.info("message %s was taken over meanwhile; left to its new holder", message_id)
    except redis.RedisError as again:
        if decide.ledger_out_of_reach(again):
            raise
        # Redis refuses this record whatever we ask (a key of another type …): leave it.
        log.error("message %s: the ledger refuses to move it (%s)", message_id, again)
    try:
        state = ledger.fields(message_id, "state")["state"]
    except redis.RedisError as again:
        if decide.ledger_out_of_reach(again):
            raise
        state = None
    return Ended(_STATES.get(state or ""), reason)
