"""The WAChat message statuses, as the document's *Whatsapp message status* table lists them.

====== =========== ======================================== ============================
letter name        the document says                        final state
====== =========== ======================================== ============================
``U``  UNSEND      Message is not being sent yet            sent (not final)
``Q``  QUEUE       Message is on queue (going to be sent)   sent (not final)
``S``  SENT        Message is being sent                    sent (not final)
``D``  DELIVERED   Message is delivered to destination      delivered (may still be read)
``R``  READ        Message has been read                    read (final)
``A``  ABORTED     Message is aborted (will not be sent)    aborted, a failure (final)
====== =========== ======================================== ============================

Unlike NusaSMS there is no ``F`` (FAILED): an ``A`` is the only bad end. The letters that
exist mean what NusaSMS's do, so a reader of NusaSMS's WhatsApp statuses reads these right.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["WAChatStatus"]


class WAChatStatus(StrEnum):
    """A WAChat message status (the value is the letter the API answers)."""

    UNSEND = "U"
    QUEUE = "Q"
    SENT = "S"
    DELIVERED = "D"
    READ = "R"
    ABORTED = "A"

    @property
    def is_final(self) -> bool:
        """No further change is expected (R, A). D is not final: it may still become R."""
        return self in (WAChatStatus.READ, WAChatStatus.ABORTED)

    @property
    def is_delivered(self) -> bool:
        """The message reached the handset (delivered or already read)."""
        return self in (WAChatStatus.DELIVERED, WAChatStatus.READ)

    @property
    def is_failed(self) -> bool:
        """The message will never be delivered (A)."""
        return self is WAChatStatus.ABORTED

    @classmethod
    def _missing_(cls, value: object) -> WAChatStatus | None:
        # The table's names ("UNSEND", "QUEUE") and their common spellings are read too; an
        # unknown text (including NusaSMS's "F", which WAChat does not have) stays unknown.
        if isinstance(value, str):
            return _WORDS.get(value.strip().upper().replace("_", "-"))
        return None


_WORDS = {
    "U": WAChatStatus.UNSEND,
    "UNSEND": WAChatStatus.UNSEND,
    "UNSENT": WAChatStatus.UNSEND,
    "UN-SENT": WAChatStatus.UNSEND,
    "Q": WAChatStatus.QUEUE,
    "QUEUE": WAChatStatus.QUEUE,
    "QUEUED": WAChatStatus.QUEUE,
    "S": WAChatStatus.SENT,
    "SENT": WAChatStatus.SENT,
    "D": WAChatStatus.DELIVERED,
    "DELIVERED": WAChatStatus.DELIVERED,
    "R": WAChatStatus.READ,
    "READ": WAChatStatus.READ,
    "A": WAChatStatus.ABORTED,
    "ABORTED": WAChatStatus.ABORTED,
}
