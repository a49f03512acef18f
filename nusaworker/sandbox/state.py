"""Everything the sandbox knows, behind one lock: accounts, messages, hits, faults, settings.

The HTTP server is multi-threaded; every read-modify-write of this state (charge a balance and
record a message, register a hit and judge its gap) happens under ``SandboxState.lock`` (an
``RLock`` so handlers can group several calls into one atomic step).
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from .accounts import UNKNOWN_ACCOUNT, Account
from .faults import FaultDecision, FaultProfile, draw
from .hits import Hit, HitLog
from .messages import Message
from .wire import Request, Response


@dataclass
class Admission:
    """The verdict on one arriving hit: its log entry, the gap rule and the drawn faults."""

    hit: Hit
    rate_limited: bool  # a violation while the rule is enforced: answer 429, no side effects
    faults: FaultDecision


class SandboxState:
    """Mutable state of one sandbox; all public methods are thread-safe."""

    def __init__(
        self,
        *,
        accounts: list[Account],
        min_interval_ms: float,
        enforce_rate: bool,
        faults: FaultProfile,
        callback_url: str | None,
        status_step_s: float,
        fail_rate: float,
        seed: int | None,
    ) -> None:
        self.lock = threading.RLock()
        self.rng = random.Random(seed)
        self._start_accounts = {a.name: a.copy() for a in accounts}
        self._start_faults = faults
        self._start_callback_url = callback_url
        self.accounts: dict[str, Account] = {a.name: a for a in accounts}
        self.faults = faults
        self.callback_url = callback_url
        self._start_rate = (float(min_interval_ms), enforce_rate)
        self.min_interval_ms, self.enforce_rate = self._start_rate
        self.status_step_s = float(status_step_s)
        self.fail_rate = float(fail_rate)
        self.messages: dict[str, Message] = {}
        self.live: set[str] = set()  # ref_nos whose status may still change
        self.refunds_due: set[str] = set()  # ref_nos whose cost goes back at a status ahead
        self.hits = HitLog()
        self.callbacks_sent = 0
        self.callbacks_failed = 0
        self._counter = itertools.count(1)
        # Per-instance id prefixes keep ref_nos of two sandboxes (or runs) apart.
        self._token = f"{self.rng.getrandbits(32):08X}"
        self._sms_base = self.rng.randrange(1_000_000_000, 9_999_999_999)

    # -- accounts -----------------------------------------------------------------------------

    def by_api_key(self, api_key: str | None) -> Account | None:
        """The account whose APIKey is ``api_key``."""
        if not api_key:
            return None
        with self.lock:
            return next((a for a in self.accounts.values() if a.api_key == api_key), None)

    def by_sms_login(self, user: str | None, password: str | None) -> Account | None:
        """The account whose SMS user and password match."""
        if not user or password is None:
            return None
        with self.lock:
            for account in self.accounts.values():
                if account.sms_user == user and account.sms_password == password:
                    return account
        return None

    def resolve(self, req: Request) -> Account | None:
        """The account a request authenticates as (APIKey header, else SMS user/password)."""
        account = self.by_api_key(req.header("apikey"))
        if account is None:
            params = req.sms_params()
            account = self.by_sms_login(params.get("user"), params.get("password"))
        return account

    def add_account(self, account: Account) -> None:
        """Add (or replace) an account; it also becomes part of what ``reset`` restores."""
        with self.lock:
            self.accounts[account.name] = account
            self._start_accounts[account.name] = account.copy()

    def account(self, name: str) -> Account:
        """An account by name (its refunds due settled first); ``KeyError`` when there is none."""
        with self.lock:
            self.settle(time.monotonic())
            return self.accounts[name]

    # -- hits ---------------------------------------------------------------------------------

    def admit(self, req: Request, kind: str, *, paced: bool = True) -> Admission:
        """Register a hit, apply the gap rule and draw its faults, in one atomic step.

        ``paced=False``: a provider without the rate rule; its hits are logged, never judged.
        """
        name = req.account.name if req.account else UNKNOWN_ACCOUNT
        with self.lock:
            hit = self.hits.record(
                req.arrival,
                name,
                req.method,
                req.path,
                kind,
                min_interval_s=self.min_interval_ms / 1000.0,
                # Hits nobody can be paced for (bad credentials) are logged, never judged.
                rule_applies=paced and name != UNKNOWN_ACCOUNT,
                kernel_stamp=req.kernel_stamped,
            )
            limited = hit.violation and self.enforce_rate
            faults = (
                FaultDecision()
                if limited
                else draw(self.faults, self.rng, is_send=kind == "send", path=req.path)
            )
            if limited and self.faults.latency_ms > 0:
                faults = FaultDecision(delay_s=self.faults.latency_ms / 1000.0)
            return Admission(hit, limited, faults)

    def finish(self, hit: Hit, status: int, *, fault: str | None, resp: Response) -> None:
        """Record how a hit was answered (``status`` 0: no answer at all)."""
        with self.lock:
            self.hits.finish(hit, status, fault=fault, accepted=resp.accepted, ref_no=resp.ref_no)

    # -- messages and money -------------------------------------------------------------------

    def new_ref_no(self) -> str:
        """A fresh JSON API ref_no (letters and digits, never one of the test ref_nos)."""
        with self.lock:
            return f"NS{self._token}{next(self._counter):010d}"

    def new_sms_id(self) -> str:
        """A fresh SMS message id (a numeric string, as the SMS v3 API gives)."""
        with self.lock:
            return f"{self._sms_base}{next(self._counter):08d}"

    def charge(self, account: Account, wallet: str, cost: float) -> bool:
        """Deduct ``cost`` from ``wallet`` (``"wa"``/``"sms"``) if it covers it."""
        attr = f"{wallet}_balance"
        with self.lock:
            balance = getattr(account, attr)
            if balance < cost:
                return False
            setattr(account, attr, balance - cost)
            return True

    def add_message(self, message: Message) -> None:
        """Remember an accepted message."""
        with self.lock:
            self.messages[message.ref_no] = message
            self.live.add(message.ref_no)
            if message.refund_on is not None and message.refund_on in message.path:
                self.refunds_due.add(message.ref_no)

    def message(self, ref_no: str) -> Message | None:
        """A message by ref_no."""
        with self.lock:
            return self.messages.get(ref_no)

    def message_views(self, now: float) -> list[dict[str, Any]]:
        """Internal views of every message, oldest first."""
        with self.lock:
            return [m.view(now) for m in self.messages.values()]

    def advance(self, now: float) -> tuple[str | None, list[tuple[Message, int]]]:
        """Status steps reached since the last call: ``(callback_url, [(message, index)])``.

        Every step is returned once, in order; finished messages leave the live set.
        """
        steps: list[tuple[Message, int]] = []
        with self.lock:
            self.settle(now)
            for ref_no in list(self.live):
                message = self.messages[ref_no]
                index = message.index_at(now)
                for step in range(message.reported + 1, index + 1):
                    steps.append((message, step))
                message.reported = max(message.reported, index)
                if index == len(message.path) - 1:
                    self.live.discard(ref_no)
            return self.callback_url, steps

    # -- control ------------------------------------------------------------------------------

    def count_callback(self, *, ok: bool) -> None:
        """Count one push attempt."""
        with self.lock:
            if ok:
                self.callbacks_sent += 1
            else:
                self.callbacks_failed += 1

    def stats(self) -> dict[str, Any]:
        """The hit statistics plus callback counters."""
        with self.lock:
            stats = self.hits.stats()
            stats["callbacks_sent"] = self.callbacks_sent
            stats["callbacks_failed"] = self.callbacks_failed
            stats["messages"] = len(self.messages)
            return stats

    def reset(self) -> None:
        """Forget hits and messages; restore accounts, faults, callback URL and rate rule."""
        with self.lock:
            self.min_interval_ms, self.enforce_rate = self._start_rate
            self.hits.clear()
            self.messages.clear()
            self.live.clear()
            self.refunds_due.clear()
            self.accounts = {name: a.copy() for name, a in self._start_accounts.items()}
            self.faults = self._start_faults
            self.callback_url = self._start_callback_url
            self.callbacks_sent = 0
            self.callbacks_failed = 0

    # -- refunds ------------------------------------------------------------------------------

    def settle(self, now: float) -> int:
        """Give back the cost of every message that reached its refund status by ``now``.

        Statuses are computed from the clock, so refunds are settled whenever money is looked
        at (an account read, a balance answer) and on every ticker step: a balance never shows
        a failed message as still paid for. Returns the number of refunds made.
        """
        done = 0
        with self.lock:
            for ref_no in list(self.refunds_due):
                message = self.messages[ref_no]
                if message.status_at(now) != message.refund_on:
                    continue
                self.refunds_due.discard(ref_no)
                account = self.accounts.get(message.account)
                if account is None:
                    continue
                attr = f"{message.wallet}_balance"
                setattr(account, attr, getattr(account, attr) + message.cost)
                message.refunded = True
                message.extra["refunded"] = message.cost
                done += 1
        return done
