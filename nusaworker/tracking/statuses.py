"""What a provider's status code means for a ledger record: pure functions, no I/O.

The same code arrives by poll (``whatsapp/status``, SMS ``cmd=DR``) and by push (the status
callbacks); both are read here, so a poll and a push of one status always agree.

======================= =========================================== =====================
channel                 provider code                               ledger state
======================= =========================================== =====================
WhatsApp (``wa``)       ``U``, ``Q``, ``S`` (or spelled out)          ``sent`` (no move)
                        ``D``                                       ``delivered``
                        ``R``                                       ``read``
                        ``A``                                       ``aborted``
                        ``F``                                       ``failed``
WA Official             ``queued``, ``sent``                        ``sent`` (no move)
                        ``delivered`` / ``read`` / ``failed``       same name
SMS (DR, push)          ``QUEUED``, ``SENT``, ``ACCEPTED``, …       ``sent`` (no move)
                        ``DELIVERED``, ``DELIVRD``                  ``delivered``
                        ``FAILED``, ``UNDELIV``, ``REJECTED``, …    ``failed``
======================= =========================================== =====================

An SMS ``REJECTED`` after the send was accepted is ``failed`` in the ledger (``rejected`` is
the ledger's word for a send refused up front, and ``sent → rejected`` is no move of the
graph); the provider's code is kept verbatim in ``provider_status`` either way. A code not in
the table is *unknown*: it moves nothing, is stored verbatim and logged by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from nusaworker.channels import CHANNELS
from nusaworker.ledger import MessageState
from nusaworker.providers.nusasms import WhatsAppStatus

S = MessageState

_WA: dict[WhatsAppStatus, MessageState] = {
    WhatsAppStatus.UNSENT: S.SENT,
    WhatsAppStatus.QUEUED: S.SENT,
    WhatsAppStatus.SENT: S.SENT,
    WhatsAppStatus.DELIVERED: S.DELIVERED,
    WhatsAppStatus.READ: S.READ,
    WhatsAppStatus.ABORTED: S.ABORTED,
    WhatsAppStatus.FAILED: S.FAILED,
}

# WAChat (seed 002) spells U "UNSEND" (NusaSMS: "UNSENT").
_WA_SPELLINGS = {"UNSEND": "U"}

_OFFICIAL: dict[str, MessageState] = {
    "QUEUED": S.SENT,
    "QUEUE": S.SENT,
    "PENDING": S.SENT,
    "SENT": S.SENT,
    "DELIVERED": S.DELIVERED,
    "READ": S.READ,
    "FAILED": S.FAILED,
}

# The sandbox's dr_status values plus the SMPP delivery-receipt stats carriers relay verbatim.
_SMS: dict[str, MessageState] = {
    "QUEUED": S.SENT,
    "PENDING": S.SENT,
    "ACCEPTED": S.SENT,
    "ACCEPTD": S.SENT,
    "ENROUTE": S.SENT,
    "SENT": S.SENT,
    "DELIVERED": S.DELIVERED,
    "DELIVRD": S.DELIVERED,
    "FAILED": S.FAILED,
    "UNDELIV": S.FAILED,
    "UNDELIVERED": S.FAILED,
    "UNDELIVERABLE": S.FAILED,
    "REJECTED": S.FAILED,
    "REJECTD": S.FAILED,
    "EXPIRED": S.FAILED,
    "DELETED": S.FAILED,
}

# Channels of the ledger whose status can be asked for (the table's ``polled`` column; the
# others are followed by push only: WA Official has no status endpoint, a phone check and a
# group SMS have no ref_no of a message of their own).
POLLABLE_CHANNELS = frozenset(name for name, row in CHANNELS.items() if row.polled)


@dataclass(frozen=True)
class Reading:
    """What one provider code says about a record.

    ``state`` is the ledger state it stands for, or ``None`` for an unknown code; ``known``
    says whether the code is in the table; ``provider_status`` is the code as it came.
    """

    provider_status: str
    state: MessageState | None
    error: str | None = None

    @property
    def known(self) -> bool:
        """Whether the code is one the table knows."""
        return self.state is not None

    @property
    def is_final(self) -> bool:
        """Whether it ends the record's polling (delivered, read, failed, aborted)."""
        return self.state is not None and self.state.is_final


def family(channel: str) -> str:
    """The status vocabulary of a ledger channel (``wa``, ``wa_official`` or ``sms``: the
    table's ``statuses`` column); an unknown channel's is its own name, which reads nothing."""
    row = CHANNELS.get(channel)
    return row.statuses if row is not None else channel


def read_status(channel: str, code: str, *, err_code: str | None = None) -> Reading:
    """Interpret ``code`` as reported for a message of ``channel`` (poll or push alike)."""
    raw = code.strip()
    kind = family(channel)
    state: MessageState | None
    if kind == "wa":
        try:
            state = _WA[WhatsAppStatus(_WA_SPELLINGS.get(raw.upper(), raw))]
        except ValueError:
            state = None
    elif kind == "wa_official":
        state = _OFFICIAL.get(raw.upper())
    elif kind == "sms":
        state = _SMS.get(raw.upper())
    else:
        state = None
    error = None
    if state in (S.FAILED, S.ABORTED):
        error = f"provider status {raw}" + (
            f" (err_code {err_code})" if err_code and err_code != "0" else ""
        )
    return Reading(provider_status=raw, state=state, error=error)
