"""How a WAChat message's status moves: its path of letters, fixed when it is accepted.

The document's letters are ``U Q S D R A`` and there is no ``F``: a message starts unsent
(``U``), is queued (``Q``), sent (``S``), delivered (``D``), read (``R``); one that ends badly
is aborted (``A``) before it is sent. The shared :class:`~..messages.Message` computes the
current letter from the clock (one step per ``status_step_s``); ``fail_rate`` of the ref_nos
(by a stable hash) end badly, as for every provider of the sandbox.
"""

from __future__ import annotations

from ..messages import ends_badly

CHANNEL = "wachat"  # Message.channel of WAChat messages
PATH = ("U", "Q", "S", "D", "R")
ABORTED = ("U", "Q", "A")
SENT_INDEX = PATH.index("S")


def plan(ref_no: str, *, fail_rate: float, timeout_s: int | None, step_s: float) -> tuple[str, ...]:
    """The letters a message will go through.

    A message whose own ``timeout`` runs out before it would be sent is aborted ("will not
    be sent"): the document has no other bad end for it.
    """
    if timeout_s is not None and 0 < timeout_s < SENT_INDEX * step_s:
        return ABORTED
    fails, _ = ends_badly(ref_no, fail_rate)
    return ABORTED if fails else PATH
