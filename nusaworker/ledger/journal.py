"""The one log line of every state change: message id, state, previous state, account, ref_no
and reason, as fields of the record (``extra``) and in the text.

Every move of a record is one Lua script (create, claim, transition, a dead holder's give-back);
the :class:`~nusaworker.ledger.Ledger` method that ran it calls :func:`log_move` once the script
answered that the move happened — never for a move refused, so the lines are the moves. Under
``NUSAWORKER_LOG_FORMAT=json`` (:mod:`nusaworker.logs`) each becomes one JSON object whose
fields a log pipeline can index; the text format carries the same facts in the message.
"""

from __future__ import annotations

import logging

from nusaworker.ledger.states import MessageState

__all__ = ["LOGGER", "log_move"]

LOGGER = "nusaworker.ledger.moves"
log = logging.getLogger(LOGGER)


def log_move(
    message_id: str,
    state: MessageState,
    previous: MessageState | str | None,
    *,
    account: str | None = None,
    ref_no: str | None = None,
    reason: str | None = None,
) -> None:
    """Log that ``message_id`` moved from ``previous`` (``None``: created) to ``state``."""
    if not log.isEnabledFor(logging.INFO):
        return
    fields = {
        "event": "state_change",
        "message_id": message_id,
        "state": str(state),
        "previous": str(previous) if previous else None,
        "account": account or None,
        "ref_no": ref_no or None,
        "reason": reason or None,
    }
    said = " ".join(f"{k}={fields[k]}" for k in ("account", "ref_no") if fields[k])
    log.info(
        "message %s: %s -> %s%s%s",
        message_id,
        fields["previous"] or "new",
        fields["state"],
        f" {said}" if said else "",
        f" ({reason})" if reason else "",
        extra=fields,
    )
