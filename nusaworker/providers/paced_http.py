"""Take the pacing slot at the last possible moment: connection open, first byte not yet sent.

The provider judges its rule on when each request *arrives*. If the slot were taken before
``requests`` looked up a pooled connection — or opened a new one, with a TLS handshake in
production — whatever that took would push the hit late into its slot, towards the next
holder's. So the transport does not call the gate itself: it leaves a hook in a context
variable, and the connection calls it inside ``endheaders``, once the socket is connected and
right before the request line and headers are written.
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

BeforeWrite = Callable[[], None]

_before_write: ContextVar[BeforeWrite | None] = ContextVar("nusaworker_before_write", default=None)


@contextmanager
def before_write(hook: BeforeWrite) -> Iterator[None]:
    """Run ``hook`` (the gate) right before the next request of this thread is written."""
    token = _before_write.set(hook)
    try:
        yield
    finally:
        _before_write.reset(token)


class _PacedMixin:
    """``endheaders`` that connects, calls the hook, then writes."""

    sock: Any
    connect: Callable[[], None]  # urllib3's, further down the MRO

    def _reconnect(self) -> None:
        # Not self.close(): http.client would forget the request being built.
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()
        self.connect()

    def endheaders(self, *args: Any, **kwargs: Any) -> None:
        hook = _before_write.get()
        if hook is not None:
            if self.sock is None:
                self.connect()
            hook()
            # The server may have closed an idle keep-alive connection while we waited for
            # the slot: writing on it now would be answered by a reset, indistinguishable from
            # a lost answer. Open a new one, and take a fresh slot for the time that took.
            if wait_for_read(self.sock, timeout=0.0):
                self._reconnect()
                hook()
        super().endheaders(*args, **kwargs)  # type: ignore[misc]


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
