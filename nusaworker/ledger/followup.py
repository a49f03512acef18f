"""Following a sent record up: parked status updates and provider codes that move nothing.

A mixin of :class:`nusaworker.ledger.Ledger`, kept apart so that the ledger module stays about
the claim protocol and the state moves. See :mod:`nusaworker.ledger.parked` for why updates
are parked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from nusaworker.keys import Keys
from nusaworker.ledger.parked import ParkedUpdates, StatusUpdate
from nusaworker.ledger.states import MessageState

log = logging.getLogger(__name__)


class FollowUp:
    """Parked updates and verbatim provider codes; mixed into :class:`Ledger`."""

    keys: Keys
    clock: Callable[[], float]
    parked: ParkedUpdates
    _note: Any

    # Provided by Ledger.
    def id_for_ref(self, ref_no: str) -> str | None:
        raise NotImplementedError

    def update_status(
        self,
        message_id: str,
        state: MessageState | str,
        *,
        provider_status: str | None = None,
        at: float | None = None,
        error: BaseException | str | None = None,
        next_poll_at: float | None = None,
    ) -> bool:
        raise NotImplementedError

    def note_provider_status(
        self, message_id: str, provider_status: str, *, state: MessageState | str
    ) -> bool:
        """Store the provider's code verbatim without a move, if the record is still ``state``.

        For what maps to no move (an unknown code, a step like ``Q``); ``False`` if the record
        has moved on (a late answer never overwrites what came after it).
        """
        args = [MessageState(state).value, provider_status, repr(self.clock())]
        return bool(int(self._note(keys=[self.keys.message(message_id)], args=args)))

    def park_status(self, ref_no: str, update: StatusUpdate) -> str | None:
        """Record ``update`` for ``ref_no``: at once if the ref_no is known, else parked.

        Returns the id of the record it was applied to, or ``None`` when it stays parked
        until :meth:`mark_sent` (or the sweep, :meth:`apply_parked`) writes the ref_no.
        """
        message_id = self.id_for_ref(ref_no)
        if message_id is None:
            self.parked.park(ref_no, update)
            # The send may have written the ref_no between the look-up and the park; then its
            # own apply_parked ran too early to see this update, so apply it here.
            message_id = self.id_for_ref(ref_no)
            if message_id is None:
                return None
            self.apply_parked(ref_no)
            return message_id
        self._apply(message_id, update)
        return message_id

    def apply_parked(self, ref_no: str) -> int:
        """Apply what is parked for ``ref_no`` if its record is known; how many were applied."""
        updates = self.parked.peek(ref_no)  # nearly always empty: one round trip per send
        if not updates:
            return 0
        message_id = self.id_for_ref(ref_no)
        if message_id is None:
            return 0
        for update in updates:
            self._apply(message_id, update)
        self.parked.discard(ref_no, len(updates))
        return len(updates)

    def _apply(self, message_id: str, update: StatusUpdate) -> bool:
        if update.state in (MessageState.ACCEPTED, MessageState.SENDING):
            return False  # claim states are never a status; nothing to record
        return self.update_status(
            message_id,
            update.state,
            provider_status=update.provider_status,
            at=update.at,
            error=update.error,
        )
