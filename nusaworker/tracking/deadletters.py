"""Dead letters for an operator: ``nusaworker dead-letters`` lists them, ``--requeue`` sends one
again when that is safe.

A dead letter is a message that ended ``rejected``, ``failed`` or ``unknown`` straight from
``accepted`` or ``sending`` — refused, out of retries, poison, or in doubt
(:mod:`nusaworker.ledger.dead` keeps them). The listing is newest first, its destinations
masked (a support screen is not the place for whole phone numbers). A requeue makes a *new*
message with the same channel, priority and payload (the old one stays as it ended: the
ledger never moves a final record back), under the idempotency key ``requeue:<id>``, so that
two operators requeueing at once send it once; it is refused for anything that may have reached
a provider (:func:`~nusaworker.ledger.dead.requeue_refusal`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from pydantic import ValidationError

from nusaworker.channels import UnknownChannel
from nusaworker.ledger import CorruptRecord, Ledger
from nusaworker.ledger.dead import DeadLetter, DeadLetters, requeue_refusal
from nusaworker.ledger.record import unreadable
from nusaworker.tracking.errors import RequeueRefused

__all__ = ["Submit", "mask", "parse_since", "render", "requeue"]

# producer.submit: (channel, *, priority, idempotency_key, validity_s, **fields) -> message id
Submit = Callable[..., str]

_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
REASON_WIDTH = 72


def parse_since(text: str, now: float) -> float:
    """``--since`` as unix seconds: an age (``90s``, ``30m``, ``2h``, ``7d``) or an ISO date
    or date-time (UTC unless it names its zone). :class:`ValueError` for anything else."""
    found = _AGO.match(text)
    if found:
        return now - float(found.group(1)) * _UNIT_S[found.group(2).lower()]
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--since {text!r}: give an age (30m, 2h, 7d) or an ISO date (2026-12-01T10:00)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def mask(destination: str | None) -> str:
    """A destination as a support screen may show it: at least half of it hidden, at most
    seven characters shown, from both ends (``628*******890``: enough to tell two apart)."""
    if not destination:
        return "-"
    hidden = max(len(destination) - 7, (len(destination) + 1) // 2)
    shown = len(destination) - hidden
    head = (shown + 1) // 2
    return destination[:head] + "*" * hidden + destination[head + hidden :]


def _state(letter: DeadLetter) -> str:
    if letter.state_now is None:
        return f"{letter.state} (record gone)"
    if letter.state_now != letter.state:
        return f"{letter.state} (now {letter.state_now})"
    return letter.state


def _reason(letter: DeadLetter) -> str:
    text = " ".join((letter.error or "").split())
    if len(text) > REASON_WIDTH:
        text = text[: REASON_WIDTH - 1] + "…"
    if letter.requeued_as:
        text += f" [requeued as {letter.requeued_as}]"
    return text


def render(letters: Sequence[DeadLetter], out: TextIO, *, as_json: bool, total: int) -> None:
    """Write ``letters`` as a table (or JSON lines' worth of one array); ``total``: how many
    the stream holds, for the header."""
    if as_json:
        rows: list[dict[str, Any]] = []
        for letter in letters:
            data = letter.to_dict()
            data["destination"] = mask(letter.destination)
            data["at_iso"] = datetime.fromtimestamp(letter.at, UTC).isoformat()
            rows.append(data)
        json.dump(rows, out, indent=2)
        out.write("\n")
        return
    out.write(f"{len(letters)} dead letter(s) shown, newest first ({total} kept)\n")
    if not letters:
        return
    table = [("ENDED (UTC)", "ID", "CHANNEL", "DESTINATION", "STATE", "REASON")]
    for letter in letters:
        when = datetime.fromtimestamp(letter.at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.append(
            (
                when,
                letter.message_id,
                letter.channel or "-",
                mask(letter.destination),
                _state(letter),
                _reason(letter),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for line in table:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        out.write("  ".join([*cells, line[-1]]).rstrip() + "\n")


def requeue(letters: DeadLetters, ledger: Ledger, message_id: str, submit: Submit) -> str:
    """Send dead letter ``message_id`` again as a new message; its id. Raises
    :class:`~nusaworker.tracking.errors.RequeueRefused` saying why not."""
    refusal = requeue_refusal(letters.find(message_id))
    if refusal is None:
        try:
            record = ledger.get(message_id)
        except CorruptRecord:
            refusal = "its record cannot be read"
    if refusal is not None:
        raise RequeueRefused(f"message {message_id} is not sent again: {refusal}")
    try:
        new_id = submit(
            record.channel,
            priority=record.priority,
            idempotency_key=f"requeue:{message_id}",
            validity_s=record.validity_s,
            **record.payload,
        )
    except ValidationError as exc:
        why = f"its payload does not validate ({unreadable(exc)})"
        raise RequeueRefused(f"message {message_id} is not sent again: {why}") from None
    except UnknownChannel as exc:
        raise RequeueRefused(f"message {message_id} is not sent again: {exc}") from None
    letters.mark_requeued(message_id, new_id)
    return new_id
