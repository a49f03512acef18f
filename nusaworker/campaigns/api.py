"""The campaign API: create from a file or an iterable, then pause, resume, cancel, read.

::

    campaigns = Campaigns.from_settings(settings)
    info = campaigns.create(CampaignSpec(name="promo", channel="wa", template="Hi {name}"),
                            "customers.csv")
    campaigns.pause(info.id); campaigns.resume(info.id); campaigns.cancel(info.id)
    campaigns.status(info.id).as_dict(); campaigns.report(info.id)   # one ReportRow per row

``create`` reads every row (streamed), records the accepted ones compactly and reports the
others, checks the cost against the balance (the pre-flight: refused when short, unless
``force``), and only then lets the dispatcher (:mod:`.dispatch`) hand rows to the broker.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import redis
from celery import Celery

from nusaworker.accounts import AccountTable
from nusaworker.campaigns.accept import Acceptor
from nusaworker.campaigns.dispatch import Enqueue, abort_window, announce, requeue_window
from nusaworker.campaigns.errors import CampaignError, CampaignRefused, UnknownCampaign
from nusaworker.campaigns.recurring import RecurringBook, RecurringCampaign
from nusaworker.campaigns.rows import RowReader
from nusaworker.campaigns.spec import CampaignSpec, CampaignState
from nusaworker.campaigns.store import (
    CANCEL,
    PAUSE,
    RUN,
    CampaignInfo,
    CampaignStore,
    row_id,
)
from nusaworker.factories import broker_app, ledger_of
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, new_message_id
from nusaworker.ledger.claim import CAMPAIGN_CANCELLED
from nusaworker.phonecheck import PhoneChecks
from nusaworker.routing import enqueue_send
from nusaworker.settings import Settings
from nusaworker.suppression import SuppressionList

log = logging.getLogger(__name__)

#: wallet (``wa``, ``sms``) → the balance now, ``None`` when it cannot be read.
Balances = Callable[[], Mapping[str, float | None]]

CANCELLED_REASON = CAMPAIGN_CANCELLED

Rows = str | Path | Iterable[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One source row's fate: ``state`` is a message state (``delivered``, ``failed`` …), a
    skip (``invalid``, ``duplicate``, ``suppressed`` …), ``pending`` (not handed out yet) or
    ``cancelled`` (never handed out: the campaign was cancelled)."""

    row: int
    destination: str
    state: str
    reason: str = ""
    message_id: str = ""
    channel: str = ""
    ref_no: str = ""

    FIELDS = ("row", "destination", "state", "reason", "message_id", "channel", "ref_no")

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}


class Campaigns:
    """Campaigns over one Redis and one broker; see the module docstring."""

    def __init__(
        self,
        store: CampaignStore,
        ledger: Ledger,
        *,
        enqueue: Enqueue,
        suppression: SuppressionList | None = None,
        balances: Balances | None = None,
    ) -> None:
        """``balances`` reads the route's wallets for the pre-flight; without it there is no
        pre-flight (a test, a fleet that does not pay per message)."""
        self.store = store
        self.ledger = ledger
        self.enqueue = enqueue
        self.suppression = suppression or SuppressionList(ledger.redis, keys=store.keys)
        self.balances = balances
        self.recurring = RecurringBook(store.redis, keys=store.keys, clock=store.clock)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, app: Celery | None = None, balances: Balances | None = None
    ) -> Campaigns:
        client, ledger = ledger_of(settings)
        sender = (app or broker_app(settings)).send_task
        return cls(
            store_of(client, settings),
            ledger,
            enqueue=lambda message_id, channel, priority: enqueue_send(
                sender, message_id, channel, priority
            ),
            balances=balances,
        )

    # -- creating --------------------------------------------------------------------------

    def create(
        self,
        spec: CampaignSpec,
        rows: Rows,
        *,
        force: bool = False,
        campaign_id: str | None = None,
    ) -> CampaignInfo:
        """Read and record every row, run the pre-flight, and start (or schedule) it.

        Raises :class:`~.errors.CampaignInputError` for input that makes every row meaningless
        (no destination column, unknown format), :class:`~.errors.CampaignRefused` when the
        balance does not cover the cost (unless ``force``); either way the campaign is left
        ``cancelled`` with the reason, and nothing is sent.
        """
        campaign_id = campaign_id or new_message_id()
        reader = RowReader(
            spec.template, region=spec.region, destination_column=spec.destination_column
        )
        self.store.create(campaign_id, spec)
        acceptor = Acceptor(self.store, campaign_id, spec, self.suppression)
        try:
            if isinstance(rows, str | Path):
                accepted = acceptor.accept(reader.read_file(rows))
            else:
                accepted = acceptor.accept(reader.read_records(rows))
        except Exception as exc:
            self._refuse(campaign_id, f"input refused: {exc}")
            raise
        self.store.set_fields(campaign_id, cost=dict(accepted.cost))
        short = self._shortfall(dict(accepted.cost))
        if short and not force:
            reason = f"balance too low: {short} (force to start anyway)"
            self._refuse(campaign_id, reason)
            raise CampaignRefused(campaign_id, reason)
        announce(
            self.store,
            campaign_id,
            "accepted",
            CampaignState.ACCEPTING,
            {"rows": accepted.rows, "skipped": dict(accepted.skipped)},
        )
        later = spec.start_at is not None and spec.start_at > self.store.clock()
        to = CampaignState.SCHEDULED if later else CampaignState.RUNNING
        self.store.move(campaign_id, to, allowed_from=[CampaignState.ACCEPTING], control=RUN)
        if to is CampaignState.RUNNING:
            announce(self.store, campaign_id, "started", to)
        return self.status(campaign_id)

    def _refuse(self, campaign_id: str, reason: str) -> None:
        self.store.move(
            campaign_id,
            CampaignState.CANCELLED,
            allowed_from=[CampaignState.ACCEPTING],
            control=CANCEL,
            reason=reason,
        )
        announce(self.store, campaign_id, "refused", CampaignState.CANCELLED, {"reason": reason})

    def _shortfall(self, cost: Mapping[str, int]) -> str:
        """What the balances lack for ``cost`` ("" when covered or when not checked)."""
        if self.balances is None or not any(cost.values()):
            return ""
        have = self.balances()
        missing = []
        for wallet, need in sorted(cost.items()):
            balance = have.get(wallet)
            if need and (balance is None or balance < need):
                shown = "unknown" if balance is None else f"{balance:g}"
                missing.append(f"{wallet} needs {need}, has {shown}")
        return "; ".join(missing)

    # -- recurring campaigns ------------------------------------------------------------------

    def schedule(self, recurring: RecurringCampaign, *, replace: bool = False) -> None:
        """Add a recurring campaign: beat starts it at each fire time of its cron (once,
        fleet-wide). Its ``campaign`` options are checked now (a :class:`CampaignSpec` without
        the name; ``force`` allowed), so a bad one is refused here, not at 9 a.m."""
        recurring_spec(recurring, recurring.created_at)
        self.recurring.add(recurring, replace=replace)

    def unschedule(self, name: str) -> bool:
        """Remove a recurring campaign; whether it existed. Runs already started go on."""
        return self.recurring.remove(name)

    def start_recurring(self, recurring: RecurringCampaign, fire_at: float) -> str:
        """One run of a recurring campaign (what beat calls at a fire time): the recipients
        callable of the user's backend is called with no arguments and its rows (an iterable
        of mappings) become a campaign named ``<name> <fire time>``; returns its id."""
        recipients = recurring.load_recipients()
        spec = recurring_spec(recurring, fire_at)
        force = bool(recurring.campaign.get("force", False))
        return self.create(spec, recipients(), force=force).id

    # -- control ---------------------------------------------------------------------------

    def pause(self, campaign_id: str) -> CampaignInfo:
        """Stop handing rows out; what is queued is not claimed (it waits in the window)."""
        self._control(
            campaign_id,
            CampaignState.PAUSED,
            [CampaignState.SCHEDULED, CampaignState.RUNNING, CampaignState.WAITING],
            PAUSE,
            "paused",
        )
        return self.status(campaign_id)

    def resume(self, campaign_id: str) -> CampaignInfo:
        """Send again: the window's records are enqueued again and the dispatcher refills it
        (a campaign outside its window goes back to waiting at the next tick)."""
        self._control(campaign_id, CampaignState.RUNNING, [CampaignState.PAUSED], RUN, "resumed")
        requeue_window(self.store, self.ledger, campaign_id, self.enqueue)
        return self.status(campaign_id)

    def cancel(self, campaign_id: str) -> CampaignInfo:
        """End it: no row is handed out any more, what was handed out and not claimed is
        aborted; messages already being sent end as they end."""
        self._control(
            campaign_id,
            CampaignState.CANCELLED,
            [
                CampaignState.SCHEDULED,
                CampaignState.RUNNING,
                CampaignState.WAITING,
                CampaignState.PAUSED,
            ],
            CANCEL,
            "cancelled",
        )
        abort_window(self.store, self.ledger, campaign_id, CANCELLED_REASON)
        return self.status(campaign_id)

    def _control(
        self,
        campaign_id: str,
        to: CampaignState,
        allowed: list[CampaignState],
        control: str,
        event: str,
    ) -> None:
        info = self.status(campaign_id)
        if not self.store.move(campaign_id, to, allowed_from=allowed, control=control):
            now = self.status(campaign_id).state
            raise CampaignError(f"campaign {campaign_id} is {now.value}: it cannot be {event}")
        announce(self.store, info.id, event, to)

    # -- reading ---------------------------------------------------------------------------

    def status(self, campaign_id: str) -> CampaignInfo:
        """The campaign now; raises :class:`~.errors.UnknownCampaign`."""
        info = self.store.load(campaign_id)
        if info is None:
            raise UnknownCampaign(campaign_id)
        return info

    def list(self, limit: int = 50) -> list[CampaignInfo]:
        """The newest campaigns first."""
        found = (self.store.load(i) for i in self.store.listing(limit))
        return [info for info in found if info is not None]

    def report(self, campaign_id: str, *, chunk: int = 1_000) -> Iterator[ReportRow]:
        """Every source row's fate, in row order (streamed: a chunk of records at a time)."""
        info = self.status(campaign_id)
        skipped = self._skipped(campaign_id, chunk)
        next_skip = next(skipped, None)
        for start in range(0, info.rows, chunk):
            rows = self.store.rows(campaign_id, start, chunk)
            handed = [r for i, r in enumerate(rows) if start + i < info.cursor]
            records = _fields_of(self.ledger, [row_id(campaign_id, r.row) for r in handed])
            for i, row in enumerate(rows):
                while next_skip is not None and next_skip.row < row.row:
                    yield next_skip
                    next_skip = next(skipped, None)
                if i < len(handed):
                    yield _handed_out(campaign_id, row.row, row.destination, records[i])
                else:
                    never = "cancelled" if info.state is CampaignState.CANCELLED else "pending"
                    yield ReportRow(row.row, row.destination, never)
        while next_skip is not None:
            yield next_skip
            next_skip = next(skipped, None)

    def _skipped(self, campaign_id: str, chunk: int) -> Iterator[ReportRow]:
        start = 0
        while True:
            batch = self.store.skipped(campaign_id, start, chunk)
            for s in batch:
                yield ReportRow(s.row, s.value, s.problem, s.reason)
            if len(batch) < chunk:
                return
            start += chunk


_REPORT_FIELDS = ("state", "error", "channel", "ref_no")


def _fields_of(ledger: Ledger, ids: list[str]) -> list[list[Any]]:
    pipe = ledger.redis.pipeline(transaction=False)
    for message_id in ids:
        pipe.hmget(ledger.keys.message(message_id), _REPORT_FIELDS)
    return list(pipe.execute()) if ids else []


def _handed_out(campaign_id: str, row: int, destination: str, values: list[Any]) -> ReportRow:
    state, error, channel, ref_no = (
        v.decode() if isinstance(v, bytes) else (v or "") for v in values
    )
    return ReportRow(
        row,
        destination,
        state or "expired_record",
        error,
        row_id(campaign_id, row),
        channel,
        ref_no,
    )


def recurring_spec(recurring: RecurringCampaign, fire_at: float) -> CampaignSpec:
    """The spec of one run: the definition's ``campaign`` options (``force`` aside), named
    after the definition and the run's fire time on its zone's clock."""
    options = {k: v for k, v in recurring.campaign.items() if k != "force"}
    when = dt.datetime.fromtimestamp(fire_at, ZoneInfo(recurring.tz)).strftime("%Y-%m-%d %H:%M")
    return CampaignSpec(**{**options, "name": f"{recurring.name} {when}"})


def store_of(client: redis.Redis, settings: Settings) -> CampaignStore:
    """The campaign store of a fleet (its key prefix, its record retention)."""
    return CampaignStore(
        client,
        keys=Keys(prefix=settings.key_prefix),
        clock=time.time,
        retention_s=settings.record_retention_days * 86400,
    )


def rate_of(settings: Settings, priority: str = "bulk") -> Callable[[str], float]:
    """channel → hits/s of the first account of its route (its own rate rule)."""
    table = AccountTable.from_settings(settings)

    def rate(channel: str) -> float:
        account = table.account(table.route(channel, priority)[0])
        return 1000.0 / account.min_interval_ms

    return rate


def phone_checks_of(client: redis.Redis, settings: Settings) -> PhoneChecks:
    return PhoneChecks.from_settings(client, settings)
