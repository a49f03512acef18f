"""Take the pacing turn at the last possible moment, and report it as soon as the request is out.

The provider judges its rule on when each request *arrives*. If the turn were taken before
``requests`` looked up a pooled connection — or opened a new one, with a TLS handshake in
production — whatever that took would push the hit late into its turn. So the transport does
not call the gate itself: it leaves a hook in a context variable, and the connection calls it
inside ``endheaders``, once the socket is connected and right before the request line and
headers are written.

The other end matters as much to a causal gate (:mod:`nusaworker.pacing.causal`), which hands
the account's next turn out only once this one is reported written: the report is made when
the whole request (headers and body) is out — at ``getresponse``, before waiting for the
answer — or, if the request failed half-way, when the hook's context ends. A request that
never wrote a byte gives its turn back instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.wait import wait_for_read

from .gate import Turn

BeforeWrite = Callable[[], Turn]


class _Pending:
    """The turn of the request being made on this thread, and whether it may have written."""

    __slots__ = ("hook", "may_have_written", "turn")

    def __init__(self, hook: BeforeWrite) -> None:
        self.hook = hook
        self.turn: Turn | None = None
        self.may_have_written = False

    def take(self) -> None:
        self.turn = self.hook()
        self.may_have_written = False

    def report(self, *, written: bool) -> None:
        turn, self.turn = self.turn, None
        if turn is not None:
            if written:
                turn.written()
            else:
                turn.cancel()


_pending: ContextVar[_Pending | None] = ContextVar("nusaworker_pending_turn", default=None)


@contextmanager
def before_write(hook: BeforeWrite) -> Iterator[None]:
    """Run ``hook`` (the gate) right before the next request of this thread is written, and
    report its turn once the request is out (or given up)."""
    pending = _Pending(hook)
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
        # Normally reported at getresponse already; here for a request that failed mid-way.
        pending.report(written=pending.may_have_written)


class _PacedMixin:
    """``endheaders`` that connects, takes the turn, then writes; ``getresponse`` reports it."""

    sock: Any
    connect: Callable[[], None]  # urllib3's, further down the MRO

    def _reconnect(self) -> None:
        # Not self.close(): http.client would forget the request being built.
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()
        self.connect()

    def endheaders(self, *args: Any, **kwargs: Any) -> None:
        pending = _pending.get()
        if pending is not None:
            if self.sock is None:
                self.connect()
            pending.take()
            # The server may have closed an idle keep-alive connection while we waited for
            # the turn: writing on it now would be answered by a reset, indistinguishable from
            # a lost answer. Give the turn back, open a new connection, take a fresh turn.
            if wait_for_read(self.sock, timeout=0.0):
                pending.report(written=False)
                self._reconnect()
                pending.take()
            pending.may_have_written = True
        super().endheaders(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        pending = _pending.get()
        if pending is not None:
            # Headers and body are out: the account's next hit may now be scheduled.
            pending.report(written=True)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class PacedHTTPConnection(_PacedMixin, HTTPConnection):
    """HTTP connection that takes its pacing slot right before writing."""


class PacedHTTPSConnection(_PacedMixin, HTTPSConnection):
    """HTTPS connection that takes its pacing slot right before writing."""


class PacedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = PacedHTTPConnection


class PacedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = PacedHTTPSConnection


class PacedAdapter(HTTPAdapter):
    """A requests adapter whose connections honour :func:`before_write`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": PacedHTTPConnectionPool,
            "https": PacedHTTPSConnectionPool,
        }
