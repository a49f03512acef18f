"""What the ledger raises.

    NusaWorkerError
    └── LedgerError             anything the message ledger refuses
        ├── RecordNotFound      no record under that id (never created, or expired)
        ├── CorruptRecord       a record whose stored fields cannot be read
        ├── IllegalTransition   a move the state machine never allows from where the record is
        └── Fenced              the caller's claim token is no longer the record's token

A late or out-of-order *status update* is not an error: :meth:`Ledger.update_status` and the
``mark_*`` methods answer ``False`` and change nothing. These exceptions are for callers that
hold a claim and find the record is no longer theirs, or that ask for something impossible.
"""

from __future__ import annotations

from nusaworker.errors import NusaWorkerError


class LedgerError(NusaWorkerError):
    """Raised when the message ledger refuses an operation; the root of the ledger's errors."""

    retryable = False


class RecordNotFound(LedgerError):
    """Raised when no message record exists under the given id (never created, or expired)."""

    retryable = False

    def __init__(self, message_id: str) -> None:
        super().__init__(f"no message record {message_id!r}")
        self.message_id = message_id


class CorruptRecord(LedgerError):
    """Raised when a stored record cannot be read (a field that does not parse or validate)."""

    # Read again, the same bytes fail the same way: only a new write can mend the record.
    retryable = False

    def __init__(self, message_id: str, reason: str) -> None:
        super().__init__(f"message record {message_id!r} cannot be read: {reason}")
        self.message_id = message_id
        self.reason = reason


class IllegalTransition(LedgerError):
    """Raised when an operation asks for a move the state machine does not allow from here."""

    retryable = False

    def __init__(self, message_id: str, current: str, wanted: str) -> None:
        super().__init__(f"message {message_id!r}: {current} → {wanted} is not allowed")
        self.message_id = message_id
        self.current = current
        self.wanted = wanted


class Fenced(LedgerError):
    """Raised when a claim token no longer matches the record: another worker took it over."""

    # Retrying with the same stale token can never succeed; the record belongs to someone else.
    retryable = False

    def __init__(self, message_id: str, operation: str) -> None:
        super().__init__(f"message {message_id!r}: {operation} with a stale claim token")
        self.message_id = message_id
        self.operation = operation
