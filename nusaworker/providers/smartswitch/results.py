"""What a send returns: one :class:`DestinationResult` per destination, and the batch of them.

``status`` is the provider's per-destination verdict, normalised:

* ``"ok"`` — sent, and the balance charged (the document writes it ``ок`` in Cyrillic in its
  attribute table and ``ok`` in its examples: both are read as ``"ok"``);
* ``"error"`` — not sent, not charged;
* ``"unknown"`` — the answer said nothing about this destination, which may have been sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..errors import AmbiguousOutcome, ProviderError
from .codes import error_class

__all__ = ["BatchResult", "DestinationResult", "Status"]

Status = Literal["ok", "error", "unknown"]


class DestinationResult(BaseModel):
    """The provider's answer for one destination of a send."""

    model_config = ConfigDict(frozen=True)

    destination: str  # as sent (normalised digits)
    status: Status
    request_id: str  # the client's id for this destination, sent and echoed back
    id: str | None = None  # the server's id of this answer (the message id when status is ok)
    segments: int = 0  # what the provider billed (0 when nothing was sent)
    error_code: str | None = None
    error_title: str | None = None
    error_detail: str | None = None

    @property
    def ok(self) -> bool:
        """Sent and charged."""
        return self.status == "ok"

    @property
    def message_id(self) -> str | None:
        """The server's message id, for a destination that was sent."""
        return self.id if self.ok else None

    @property
    def cost(self) -> int:
        """Segments charged: the billed ``segments`` when sent, 0 otherwise."""
        return self.segments if self.ok else 0

    def error(self) -> ProviderError | None:
        """The taxonomy error this destination's outcome stands for (``None`` when sent).

        ``error``: the class of its code (:mod:`.codes`; an unknown or missing code is a
        :class:`~nusaworker.providers.errors.PermanentError`); ``unknown``:
        :class:`~nusaworker.providers.errors.AmbiguousOutcome`.
        """
        if self.status == "ok":
            return None
        if self.status == "unknown":
            return AmbiguousOutcome(
                f"destination {self.destination}: not in the answer; it may have been sent"
            )
        words = " — ".join(t for t in (self.error_title, self.error_detail) if t)
        cls = error_class(self.error_code)
        return cls(f"destination {self.destination}: {words or 'refused'} ({self.error_code})")


class BatchResult(BaseModel):
    """Every destination's result of one hit, in the order the destinations were given."""

    model_config = ConfigDict(frozen=True)

    results: tuple[DestinationResult, ...]

    def __iter__(self) -> Iterator[DestinationResult]:  # type: ignore[override]
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def sent(self) -> tuple[DestinationResult, ...]:
        """The destinations sent and charged."""
        return tuple(r for r in self.results if r.status == "ok")

    @property
    def failed(self) -> tuple[DestinationResult, ...]:
        """The destinations refused (not sent, not charged)."""
        return tuple(r for r in self.results if r.status == "error")

    @property
    def unknown(self) -> tuple[DestinationResult, ...]:
        """The destinations the answer did not mention (they may have been sent)."""
        return tuple(r for r in self.results if r.status == "unknown")

    @property
    def all_ok(self) -> bool:
        """Every destination was sent."""
        return all(r.ok for r in self.results)

    @property
    def cost(self) -> int:
        """Segments charged for the whole hit."""
        return sum(r.cost for r in self.results)

    def for_request_id(self, request_id: str) -> DestinationResult:
        """The result of the destination sent with ``request_id``; ``KeyError`` if none."""
        for result in self.results:
            if result.request_id == request_id:
                return result
        raise KeyError(request_id)
