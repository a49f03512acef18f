"""Serving the callback receiver: waitress, the same server in production and in tests.

``nusaworker callbacks`` serves :func:`nusaworker.tracking.wsgi.create_app` with
:class:`CallbackServer`; the integration tests run the very same class in a thread.

Why waitress and not gunicorn. A push is small and its work is one or two Redis round trips,
so the receiver needs a server that is correct at the edges more than one that forks:

* waitress reads each request asynchronously and hands the app only complete requests, so a
  slow or stalled client costs a connection slot, never a thread; gunicorn's default sync
  worker is blocked by such a client, and its timeouts need an async worker class;
* it dechunks ``Transfer-Encoding: chunked`` bodies itself and sets ``CONTENT_LENGTH``, within
  ``max_request_body_size`` (413 beyond), so the app reads every body the same way;
* HTTP/1.1 keep-alive, an idle timeout (``channel_timeout``), a connection limit;
* pure Python, no fork, any OS: the same class runs in a test's thread, and a pod's one
  process is the one the probe and SIGTERM see. Scale out with more processes or pods.

Timeouts: a connection silent for ``idle_timeout_s`` is closed — a keep-alive left open, a
client that stopped in the middle of its request. A request not received whole within
``request_timeout_s`` of its first byte is dropped too — a slow loris that trickles a byte now
and then to stay under the idle timeout. Waitress has no such deadline of its own: the
server's periodic maintenance (once a second) notes when it first saw each partial request.

Graceful stop (:meth:`CallbackServer.stop`, SIGTERM in ``nusaworker callbacks``): the listening
socket closes at once, requests already being served finish and their answers are written
(for up to ``grace_s``), idle and half-received connections are closed, then the threads stop.

Waitress logs the request path of a failed request; the path holds the token, so
:class:`_MaskToken` masks its first segment in every line of the ``waitress`` logger.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from nusaworker.settings import Settings
from nusaworker.tracking.callbacks import DEFAULT_MAX_BODY_BYTES

log = logging.getLogger(__name__)

WSGIApp = Callable[..., Any]

# How long one turn of the serving loop waits for a socket event; a stop pulls the trigger, so
# this only bounds how late a missed wake-up is noticed.
LOOP_TIMEOUT_S = 1.0
# Idle connections are looked for every second: a pass over at most connection_limit channels.
CLEANUP_INTERVAL_S = 1


class _MaskToken(logging.Filter):
    """Masks the first path segment (the token) in waitress's "… while serving /path" lines."""

    _PATH = re.compile(r"(serving /)[^/\s]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "serving /" in record.msg:
            record.msg = self._PATH.sub(r"\1***", record.msg)
        return True


_waitress_log = logging.getLogger("waitress")
if not any(isinstance(f, _MaskToken) for f in _waitress_log.filters):
    _waitress_log.addFilter(_MaskToken())


class CallbackServer:
    """A waitress server for a WSGI app; ``port=0`` picks a free port.

    Args:
        app: the WSGI application.
        host, port: where to listen.
        threads: how many requests the app serves at once.
        idle_timeout_s: a connection silent this long is closed.
        max_body_bytes: a larger body is refused with 413 (chunked ones too).
        connection_limit: connections beyond it wait in the accept queue.
        grace_s: how long :meth:`stop` lets requests in flight finish.
        request_timeout_s: a request not received whole this long after it began is dropped.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 4,
        idle_timeout_s: int = 30,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        connection_limit: int = 200,
        grace_s: float = 10.0,
        request_timeout_s: float = 30.0,
    ) -> None:
        self.grace_s = grace_s
        self.request_timeout_s = request_timeout_s
        # Each partial request (waitress's parser object) → when maintenance first saw it.
        self._partial_since: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._map: dict[int, Any] = {}
        self._server = create_server(
            app,
            map=self._map,
            host=host,
            port=port,
            threads=threads,
            channel_timeout=idle_timeout_s,
            cleanup_interval=CLEANUP_INTERVAL_S,
            # waitress refuses a body of max_request_body_size bytes or more.
            max_request_body_size=max_body_bytes + 1,
            connection_limit=connection_limit,
            # Providers push in bursts; a deep accept queue avoids resets.
            backlog=1024,
            asyncore_use_poll=True,
            asyncore_loop_timeout=LOOP_TIMEOUT_S,
            ident="nusaworker",
            expose_tracebacks=False,
        )
        self._idle_maintenance = self._server.maintenance
        self._server.maintenance = self._maintenance
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(
        cls,
        app: WSGIApp,
        settings: Settings,
        *,
        host: str | None = None,
        port: int | None = None,
        threads: int | None = None,
    ) -> CallbackServer:
        """The server ``nusaworker callbacks`` runs: the ``callback_*`` settings, overridable."""
        return cls(
            app,
            host=settings.callback_host if host is None else host,
            port=settings.callback_port if port is None else port,
            threads=settings.callback_threads if threads is None else threads,
            idle_timeout_s=settings.callback_idle_timeout_s,
            max_body_bytes=settings.callback_max_body_bytes,
            connection_limit=settings.callback_connection_limit,
            grace_s=settings.callback_shutdown_grace_s,
            request_timeout_s=settings.callback_request_timeout_s,
        )

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        """``http://host:port`` (without the token)."""
        return f"http://{self._server.effective_host!s}:{self.port}"

    def start(self) -> CallbackServer:
        """Serve in a background thread; returns at once."""
        self._thread = threading.Thread(
            target=self.serve_forever, name=f"callbacks-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`request_stop` (or :meth:`stop`), then drain."""
        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=LOOP_TIMEOUT_S, map=self._map, use_poll=True, count=1)
            self._drain()
        finally:
            self._stopped.set()

    def request_stop(self) -> None:
        """Ask the serving loop to stop; safe from a signal handler. Returns at once."""
        self._stopping.set()
        self._server.pull_trigger()

    def stop(self) -> None:
        """Stop gracefully (see the module docstring) and wait until it has."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=self.grace_s + 5)
            self._thread = None
        elif not self._stopped.is_set():
            # Never served: close what create_server opened.
            self._close_all()

    def _maintenance(self, now: float) -> None:
        """Waitress's idle check, then the request deadline (runs in the serving loop)."""
        self._idle_maintenance(now)
        for channel in list(self._server.active_channels.values()):
            partial = channel.request
            if partial is None or channel.requests:
                continue  # nothing half-received, or a request being served
            began = self._partial_since.setdefault(partial, now)
            if now - began > self.request_timeout_s:
                log.info("callback receiver: request not received whole in time; dropped")
                channel.will_close = True

    def _drain(self) -> None:
        deadline = time.monotonic() + self.grace_s
        # No new connections: the listening socket goes (the trigger stays, so a finished
        # request still wakes the loop to write its answer).
        wasyncore.dispatcher.close(self._server)
        while True:
            busy = 0
            for channel in list(self._server.active_channels.values()):
                if channel.requests or channel.total_outbufs_len:
                    busy += 1
                else:
                    channel.will_close = True  # idle keep-alive or a request never completed
            if not busy:
                break
            if time.monotonic() >= deadline:
                log.warning("callback receiver: %d request(s) cut off at shutdown", busy)
                break
            wasyncore.loop(timeout=0.05, map=self._map, use_poll=True, count=1)
        # One more turn closes the channels marked above.
        wasyncore.loop(timeout=0.05, map=self._map, use_poll=True, count=1)
        self._close_all()

    def _close_all(self) -> None:
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        wasyncore.close_all(self._map)

    def __enter__(self) -> CallbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
