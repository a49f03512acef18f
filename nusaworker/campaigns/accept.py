"""Accepting a campaign's rows: each read row is recorded (compactly) or reported, in batches.

::

    RowReader results ─▶ batch of 1,000 ─▶ suppressed?   (one round trip for the batch)
                                      └──▶ payload valid for the channel(s)?  (the request model)
                                      └──▶ rows list + skipped list + counts  (one round trip)

What is recorded here is a row, not a message: the dispatcher makes each row a ledger record
only when it hands it to the broker. Each row's payload is validated now, with the very request
model the send will use, so a text the provider would refuse is a skipped row with its reason
in the report — never a failure mid-campaign — and the cost is summed for the pre-flight.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from nusaworker.campaigns.rows import AcceptedRow, RowError, RowResult
from nusaworker.campaigns.spec import SEND_CHANNELS, CampaignSpec
from nusaworker.campaigns.store import (
    INVALID_TEXT,
    SUPPRESSED,
    CampaignStore,
    PendingRow,
    SkippedRow,
)
from nusaworker.channels import channel as channel_row
from nusaworker.suppression import SuppressionList

BATCH = 1_000


def channels_of(spec: CampaignSpec) -> tuple[str, ...]:
    """The channels a campaign's rows may go out on (``auto``: either)."""
    return SEND_CHANNELS if spec.channel == "auto" else (spec.channel,)


def payload(channel: str, destination: str, text: str, spec: CampaignSpec) -> dict[str, Any]:
    """The request fields of one row's message on ``channel`` (the ledger's ``payload``)."""
    if channel == "wa":
        fields: dict[str, Any] = {"destination": destination, "message": text}
        if spec.include_unsubscribe is not None:
            fields["include_unsubscribe"] = spec.include_unsubscribe
        return fields
    return {"destination": destination, "text": text}


@dataclass
class Accepted:
    """What acceptance recorded: rows, skipped rows by problem, and the cost per wallet."""

    rows: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    cost: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return self.rows + sum(self.skipped.values())


class Acceptor:
    """Records one campaign's rows; call :meth:`accept` with the reader's results."""

    def __init__(
        self,
        store: CampaignStore,
        campaign_id: str,
        spec: CampaignSpec,
        suppression: SuppressionList,
        *,
        batch: int = BATCH,
    ) -> None:
        self.store = store
        self.campaign_id = campaign_id
        self.spec = spec
        self.suppression = suppression
        self.batch = batch
        self.channels = channels_of(spec)
        self.models = [channel_row(c) for c in self.channels]
        self.result = Accepted()

    def accept(self, results: Iterable[RowResult]) -> Accepted:
        for chunk in _chunks(results, self.batch):
            self._accept_chunk(chunk)
        return self.result

    def _accept_chunk(self, chunk: list[RowResult]) -> None:
        accepted = [r for r in chunk if type(r) is AcceptedRow]
        suppressed = self.suppression.contains_many([r.destination for r in accepted])
        blocked = {r.row for r, s in zip(accepted, suppressed, strict=True) if s}
        rows: list[PendingRow] = []
        skipped: list[SkippedRow] = []
        counts: Counter[str] = Counter()
        for result in chunk:
            if isinstance(result, RowError):
                skipped.append(
                    SkippedRow(result.row, result.problem.value, result.value or "", result.reason)
                )
                counts[result.problem.value] += 1
                continue
            assert isinstance(result, AcceptedRow)
            if result.row in blocked:
                reason = "the number is on the suppression list (it opted out)"
                skipped.append(SkippedRow(result.row, SUPPRESSED, result.destination, reason))
                counts[SUPPRESSED] += 1
                continue
            problem = self._check(result.destination, result.text)
            if problem is not None:
                skipped.append(SkippedRow(result.row, INVALID_TEXT, result.destination, problem))
                counts[INVALID_TEXT] += 1
                continue
            rows.append(PendingRow(result.row, result.destination, result.text))
        self.store.append(self.campaign_id, rows, skipped, counts)
        self.result.rows += len(rows)
        self.result.skipped.update(counts)

    def _check(self, destination: str, text: str) -> str | None:
        """Why the provider would refuse this row's message (``None``: it would not); the
        cost of the message (the first channel's, for ``auto``) is added up on the way."""
        for index, (name, row) in enumerate(zip(self.channels, self.models, strict=True)):
            fields = payload(name, destination, text, self.spec)
            try:
                model = row.validate(fields)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ())) or "message"
                return f"{name}: {where}: {first.get('msg', 'invalid')}"
            if index == 0 and row.wallet is not None:
                self.result.cost[row.wallet] += row.cost(model.model_dump(exclude_none=True))
        return None


def _chunks(results: Iterable[RowResult], size: int) -> Iterator[list[RowResult]]:
    chunk: list[RowResult] = []
    for result in results:
        chunk.append(result)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
