"""The :class:`Sandbox`: a NusaSMS emulator serving on a real port, and its Python control API."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

from . import control
from .accounts import Account, default_accounts
from .callbacks import Pusher
from .faults import FaultProfile
from .router import Ctx
from .server import SandboxServer
from .smartswitch import control as smartswitch_control
from .smsgateway24 import SmsGateway24Control
from .state import SandboxState
from .ticker import StatusTicker
from .wachat import WAChatDriver

SERVE_POLL_S = 0.02  # how often serve_forever looks at the shutdown flag: keeps stop() quick


class Sandbox:
    """A NusaSMS provider emulator (JSON API v1.0, WhatsApp Official, SMS v3) on one port.

    Args:
        host: Interface to listen on.
        port: Port to listen on; ``0`` picks a free one (see :attr:`url` after construction).
        api_key: APIKey of the default account ``"main"``.
        sms_user: SMS v3 user of the same account (same rate clock and hit counter).
        sms_password: SMS v3 password of the same account.
        min_interval_ms: The gap rule: minimum time between two hits of one account; 0 = off.
        enforce_rate: Answer rule violations 429 (they are counted either way).
        faults: The initial :class:`FaultProfile` (default: no faults).
        callback_url: Base URL pushes go to (``None``: no pushes).
        wa_balance: Starting WA credit of ``"main"``.
        sms_balance: Starting SMS credit of ``"main"``.
        status_step_s: Seconds per status step (``Q → S → D → R``).
        seed: Seed of the one RNG behind faults and ids (reproducible runs).
        fail_rate: Share of messages whose path ends badly (``A``/``F``…), by ref_no hash.

    The documented test key ``DEV_TESTING_API_KEY`` is always accepted too (account ``"dev"``).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str = "test-key",
        sms_user: str | None = "user",
        sms_password: str | None = "pass",
        min_interval_ms: float = 50.0,
        enforce_rate: bool = True,
        faults: FaultProfile | None = None,
        callback_url: str | None = None,
        wa_balance: float = 1_000_000.0,
        sms_balance: float = 1_000_000.0,
        status_step_s: float = 0.5,
        seed: int | None = None,
        fail_rate: float = 0.05,
    ) -> None:
        self._state = SandboxState(
            accounts=default_accounts(
                api_key=api_key,
                sms_user=sms_user,
                sms_password=sms_password,
                wa_balance=wa_balance,
                sms_balance=sms_balance,
            ),
            min_interval_ms=min_interval_ms,
            enforce_rate=enforce_rate,
            faults=faults or FaultProfile(),
            callback_url=callback_url,
            status_step_s=status_step_s,
            fail_rate=fail_rate,
            seed=seed,
        )
        self._pusher = Pusher(lambda ok: self._state.count_callback(ok=ok))
        self._ctx = Ctx(self._state, self._pusher)
        self._stopping = threading.Event()
        # Binding here (not in start) makes the port, hence ``url``, known right away.
        self._server = SandboxServer((host, port), self._ctx, self._stopping)
        period = min(0.1, max(0.01, status_step_s / 5))
        self._ticker = StatusTicker(self._state, self._pusher, period_s=period)
        self._thread: threading.Thread | None = None
        self._stopped = False

    def __repr__(self) -> str:
        state = "running" if self._thread and not self._stopped else "idle"
        return f"Sandbox(url={self.url!r}, {state})"

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def kernel_timestamps(self) -> bool:
        """True when hit arrivals are kernel receive timestamps (see :mod:`.arrival`)."""
        return self._server.stamped

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8765``; every NusaSMS path hangs off it."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Sandbox:
        """Serve in background threads; returns at once (the socket is already listening)."""
        if self._thread is not None:
            raise RuntimeError("sandbox already started")
        self._pusher.start()
        self._ticker.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SERVE_POLL_S},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and open connections, join the threads."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.close_connections()
        self._server.server_close()
        self._ticker.stop()
        self._pusher.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- observation --------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Same as ``GET /_sandbox/stats``."""
        return self._state.stats()

    def hits(self, *, account: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """Same as ``GET /_sandbox/hits``."""
        with self._state.lock:
            return self._state.hits.as_list(account=account, kind=kind)

    def messages(self) -> list[dict[str, Any]]:
        """Internal views of every accepted message."""
        return self._state.message_views(time.monotonic())

    def message(self, ref_no: str) -> dict[str, Any] | None:
        """Internal view of one message (``None`` if unknown)."""
        found = self._state.message(ref_no)
        return None if found is None else found.view(time.monotonic())

    def balance(self, account: str = "main") -> dict[str, Any]:
        """Balances and flags of an account."""
        with self._state.lock:
            return self._state.account(account).public_view()

    @property
    def faults(self) -> FaultProfile:
        """The fault profile in force."""
        return self._state.faults

    def wait_callbacks(self, timeout: float = 5.0) -> bool:
        """Wait until every queued push was attempted (False on timeout)."""
        return self._pusher.wait_idle(timeout)

    # -- control ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Same as ``POST /_sandbox/reset``."""
        control.reset(self._ctx)

    def set_faults(self, faults: FaultProfile | None = None, **fields: Any) -> FaultProfile:
        """Replace the fault profile (a profile, or its fields as keywords)."""
        profile = faults or FaultProfile.from_mapping(fields)
        with self._state.lock:
            self._state.faults = profile
        return profile

    def set_balance(
        self, wa: float | None = None, sms: float | None = None, *, account: str = "main"
    ) -> dict[str, Any]:
        """Set balances (a top-up or a drain); ``None`` leaves one unchanged."""
        return control.set_balance(self._ctx, account, wa=wa, sms=sms)

    def set_account(
        self,
        account: str = "main",
        *,
        revoked: bool | None = None,
        ip_whitelisted: bool | None = None,
        expired: bool | None = None,
    ) -> dict[str, Any]:
        """Change an account's standing (revoked key, IP not whitelisted, expired balance)."""
        return control.set_account(
            self._ctx, account, revoked=revoked, ip_whitelisted=ip_whitelisted, expired=expired
        )

    def add_account(
        self,
        name: str,
        *,
        api_key: str,
        sms_user: str | None = None,
        sms_password: str | None = None,
        wa_balance: float = 1_000_000.0,
        sms_balance: float = 1_000_000.0,
    ) -> None:
        """Add another account (its own rate clock and counters)."""
        self._state.add_account(
            Account(
                name=name,
                api_key=api_key,
                sms_user=sms_user,
                sms_password=sms_password,
                wa_balance=wa_balance,
                sms_balance=sms_balance,
            )
        )

    def set_callback_url(self, url: str | None) -> None:
        """Where pushes go from now on (``None`` switches them off)."""
        with self._state.lock:
            self._state.callback_url = url

    def set_rate(self, min_interval_ms: float | None = None, enforce: bool | None = None) -> None:
        """Change the gap rule at run time."""
        with self._state.lock:
            if min_interval_ms is not None:
                self._state.min_interval_ms = float(min_interval_ms)
            if enforce is not None:
                self._state.enforce_rate = enforce

    def push_inbox(
        self, channel: str, sender: str, text: str, *, room_id: str | None = None
    ) -> dict[str, Any]:
        """Simulate an incoming message on ``channel`` (``wa``, ``wa_official``, ``sms``)."""
        return control.push_inbox(self._ctx, channel, sender, text, room_id=room_id)

    @property
    def wachat(self) -> WAChatDriver:
        """The WAChat emulation's driver: accounts and their gateways' quotas, inbox pushes."""
        return WAChatDriver(self._ctx)

    def smartswitch(self, account: str = "main", **changes: Any) -> dict[str, Any]:
        """SmartSwitch standing of ``account`` (never its credentials); keywords change it:
        ``login``/``password`` (create or re-key), ``balance`` (segments),
        ``fail_destinations`` (numbers refused one by one), ``ok_spelling`` (``"ok"`` or
        ``"ок"``). See :mod:`nusaworker.sandbox.smartswitch.control`."""
        return smartswitch_control.configure(self._ctx, account, **changes)

    def smsgateway24(self) -> SmsGateway24Control:
        """The SmsGateway24 emulation's controls: logins, token expiry, forced statuses."""
        return SmsGateway24Control(self._state)
