"""The ``nusaworker pause``, ``resume`` and ``balance`` commands (wired in :mod:`nusaworker.cli`),
and the wallets a campaign's pre-flight reads (:class:`RouteWallets`).

Each builds what it needs from settings: a Redis client, the ledger, the provider client's
account fingerprint (no hit is made to learn it), and for ``balance`` a client that takes its
slots from the fleet's pacing gate, so that a balance check from a shell keeps the rate rule
like any worker's hit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

from nusaworker.accounts import AccountTable
from nusaworker.credit.balance import BalanceSnapshot, days_left, evaluate, snapshot_from
from nusaworker.credit.breakers import CHANNELS, parse_channels
from nusaworker.credit.circuit import celery_enqueue
from nusaworker.credit.clock import provider_today
from nusaworker.credit.parts import Credit
from nusaworker.credit.wallets import WACHAT_QUOTA
from nusaworker.errors import ConfigurationError, NusaWorkerError
from nusaworker.factories import (
    account_client,
    broker_app,
    ledger_of,
    pacing_gate,
    provider_client,
)
from nusaworker.keys import Keys
from nusaworker.settings import DEFAULT_ACCOUNT, Settings


def _fingerprint(settings: Settings, name: str | None) -> str:
    """The pacing fingerprint (what breakers are keyed by) of account ``name`` (default: the
    default account), learnt by building its client — no hit is made."""
    if name is None:
        with provider_client(settings) as provider:
            return provider.account
    account = AccountTable.from_settings(settings).account(name)
    with account_client(settings, account) as client:
        return str(client.account)


@contextlib.contextmanager
def _credit(
    settings: Settings, *, enqueue: bool = False, account_name: str | None = None
) -> Iterator[Credit]:
    client, ledger = ledger_of(settings)
    account = _fingerprint(settings, account_name)
    sender = celery_enqueue(broker_app(settings).send_task) if enqueue else None
    try:
        yield Credit.build(
            settings, redis_client=client, ledger=ledger, account=account, enqueue=sender
        )
    finally:
        client.close()


def pause(
    settings: Settings, names: Sequence[str], out: TextIO, *, account: str | None = None
) -> int:
    """Pause channels (of ``account``, default the default account) by hand; prints what
    changed. Exit status 0."""
    channels = parse_channels(names)
    with _credit(settings, account_name=account) as credit:
        opened = credit.circuit.pause(channels, by="nusaworker pause")
    for channel in channels:
        print(f"{channel}: {'paused' if channel in opened else 'already paused'}", file=out)
    return 0


def resume(
    settings: Settings, names: Sequence[str], out: TextIO, *, account: str | None = None
) -> int:
    """Resume channels of ``account`` (default: the default account), whatever paused them,
    and re-enqueue their held messages."""
    channels = parse_channels(names)
    with _credit(settings, enqueue=True, account_name=account) as credit:
        resumed = credit.circuit.resume(channels, by="nusaworker resume")
    closed = set(resumed.channels)
    for channel in channels:
        print(f"{channel}: {'resumed' if channel in closed else 'was not paused'}", file=out)
    print(f"held messages re-enqueued: {resumed.requeued}", file=out)
    return 0


def _live_snapshot(
    settings: Settings, account: str, *, name: str | None = None
) -> tuple[BalanceSnapshot | None, list[str]]:
    """Read balance and CREDITS now, through the fleet's pacing gate, from account ``name``
    (default: the default account's client). An account whose provider has no such calls
    (not NusaSMS) is not read: ``None``, with a note."""
    errors: list[str] = []
    declared = None if name is None else AccountTable.from_settings(settings).account(name)
    if declared is not None and declared.provider != "nusasms":
        return None, [f"{name}: {declared.provider} accounts have no balance call to read"]
    interval = None if declared is None else declared.min_interval_ms
    gate = pacing_gate(settings, Keys(prefix=settings.key_prefix), min_interval_ms=interval)
    try:
        client = (
            provider_client(settings, gate=gate)
            if declared is None
            else account_client(settings, declared, gate=gate)
        )
        with client:
            answers: list[Any] = []
            for what, call in (
                ("balance", client.get_balance),
                ("credits", client.get_sms_credits),
            ):
                try:
                    answers.append(call())
                except ConfigurationError:
                    answers.append(None)  # those credentials are not configured
                except NusaWorkerError as exc:
                    answers.append(None)
                    errors.append(f"{what}: {type(exc).__name__}: {exc}")
    finally:
        gate.close()
    if answers[0] is None and answers[1] is None:
        return None, errors
    return snapshot_from(account, time.time(), answers[0], answers[1]), errors


def campaign_wallets(snapshot: BalanceSnapshot | None) -> dict[str, float | None]:
    """The two wallets a campaign spends, from a snapshot: ``wa`` (a WAChat account's quota
    stands for it) and ``sms`` — SMS v3 ``CREDITS``, the credit the SMS credentials actually
    spend, else the JSON API's SMS balance. ``None``: not known."""
    have = snapshot.balances if snapshot is not None else {}
    return {
        "wa": have.get("wa", have.get(WACHAT_QUOTA)),
        "sms": have.get("sms_credits", have.get("sms")),
    }


def wallet_balances(settings: Settings, account: str | None = None) -> dict[str, float | None]:
    """The campaign wallets of ``account`` (default: the default account) for a pre-flight:
    read live through the pacing gate (at most two hits), else the last balance watch's
    snapshot; a wallet neither knows is ``None``."""
    with _credit(settings, account_name=account) as credit:
        snapshot, _ = _live_snapshot(settings, credit.board.account, name=account)
        if snapshot is None:
            snapshot = credit.watch.last_snapshot()
    return campaign_wallets(snapshot)


class RouteWallets(Mapping[str, float | None]):
    """wallet (``wa``, ``sms``) → the balance of the first account of that channel's route at
    ``priority``, read on first asking (a campaign asks only for the wallets it spends) and
    once per account. What :class:`nusaworker.campaigns.Campaigns` takes as ``balances``."""

    WALLETS = ("wa", "sms")

    def __init__(self, settings: Settings, *, priority: str = "bulk") -> None:
        self.settings = settings
        table = AccountTable.from_settings(settings)
        self.accounts = {w: table.route(w, priority)[0] for w in self.WALLETS}
        self._read: dict[str, dict[str, float | None]] = {}

    def __getitem__(self, wallet: str) -> float | None:
        account = self.accounts[wallet]  # KeyError for a wallet no campaign spends
        if account not in self._read:
            name = None if account == DEFAULT_ACCOUNT else account
            try:
                self._read[account] = wallet_balances(self.settings, name)
            except NusaWorkerError:  # Redis or the gate down: not known, so not covered
                self._read[account] = dict.fromkeys(self.WALLETS)
        return self._read[account][wallet]

    def __iter__(self) -> Iterator[str]:
        return iter(self.WALLETS)

    def __len__(self) -> int:
        return len(self.WALLETS)


def balance(settings: Settings, out: TextIO, *, as_json: bool = False) -> int:
    """Print balances, expiry dates, conditions and breaker states. Exit 1 if nothing could
    be read at all (neither live nor a stored snapshot)."""
    with _credit(settings) as credit:
        snapshot, errors = _live_snapshot(settings, credit.board.account)
        source = "live"
        if snapshot is None:
            snapshot, source = credit.watch.last_snapshot(), "last watch"
        states = credit.board.states()
        held = credit.board.held_counts()
    today = provider_today(time.time())
    report = _report(settings, snapshot, source, states, held, errors, today)
    if as_json:
        print(json.dumps(report, indent=2, sort_keys=True), file=out)
    else:
        _print_report(report, out)
    return 0 if snapshot is not None else 1


def _report(
    settings: Settings,
    snapshot: BalanceSnapshot | None,
    source: str,
    states: dict[str, Any],
    held: dict[str, int],
    errors: list[str],
    today: dt.date,
) -> dict[str, Any]:
    balances: dict[str, Any] = {}
    if snapshot is not None:
        levels = evaluate(
            snapshot, settings.balance_thresholds, settings.balance_expiry_days, today
        )
        for kind in sorted(set(snapshot.balances) | set(snapshot.expiry)):
            expiry = snapshot.expiry.get(kind)
            balances[kind] = {
                "balance": snapshot.balances.get(kind),
                "expires": None if expiry is None else expiry.isoformat(),
                "days_left": None if expiry is None else days_left(expiry, today),
                "threshold": settings.balance_thresholds.get(kind),
                "low": levels.get(f"low:{kind}") == "low",
                "expiry": levels.get(f"expiry:{kind}"),
            }
    breakers = {}
    for channel in CHANNELS:
        state = states[channel]
        breakers[channel] = {
            "state": "open" if state.open else "closed",
            "reason": state.reason,
            "since": None
            if state.since is None
            else dt.datetime.fromtimestamp(state.since, dt.UTC).isoformat(timespec="seconds"),
            "error": state.error,
            "held": held.get(channel, 0),
        }
    return {
        "account": snapshot.account if snapshot else None,
        "source": source if snapshot else None,
        "read_at": None
        if snapshot is None
        else dt.datetime.fromtimestamp(snapshot.at, dt.UTC).isoformat(timespec="seconds"),
        "balances": balances,
        "breakers": breakers,
        "errors": errors,
    }


def _print_report(report: dict[str, Any], out: TextIO) -> None:
    if report["balances"]:
        print(f"balances ({report['source']}, {report['read_at']}):", file=out)
        print(f"  {'type':<12} {'balance':>14}  {'expires':<10}  {'days':>5}  note", file=out)
        for kind, row in report["balances"].items():
            value = "-" if row["balance"] is None else f"{row['balance']:,.2f}"
            notes = []
            if row["low"]:
                notes.append(f"LOW (threshold {row['threshold']:g})")
            if row["expiry"] in ("soon", "expired"):
                notes.append("EXPIRED" if row["expiry"] == "expired" else "EXPIRES SOON")
            days = "" if row["days_left"] is None else str(row["days_left"])
            expires = row["expires"] or "-"
            line = f"  {kind:<12} {value:>14}  {expires:<10}  {days:>5}  {', '.join(notes)}"
            print(line.rstrip(), file=out)
    else:
        print("balances: unavailable", file=out)
    print("breakers:", file=out)
    for channel, row in report["breakers"].items():
        if row["state"] == "open":
            detail = f"OPEN ({row['reason']}) since {row['since']}; held {row['held']}"
            if row["error"]:
                detail += f" — {row['error']}"
        else:
            detail = "closed" + (f"; held {row['held']}" if row["held"] else "")
        print(f"  {channel:<18} {detail}", file=out)
    for error in report["errors"]:
        print(f"error: {error}", file=out)
