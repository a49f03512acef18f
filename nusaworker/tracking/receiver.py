"""Serving the callback receiver: a threading ``wsgiref`` server, for ``nusaworker callbacks``.

Good for a handful of pushes per second per process and for tests; behind a production
WSGI server (gunicorn, uWSGI) serve :data:`nusaworker.tracking.wsgi.application` instead::

    gunicorn -w 4 -b 0.0.0.0:8090 nusaworker.tracking.wsgi:application
"""

from __future__ import annotations

import logging
import socketserver
import threading
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

log = logging.getLogger(__name__)

WSGIApp = Callable[..., Any]


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # Many providers push in bursts; a deeper accept queue than the default 5 avoids resets.
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    """Logs through :mod:`logging` at DEBUG, and never the path (it carries the token)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("callback %s -> %s", self.command, code)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("callback server: %s", format % args if args else format)


class CallbackServer:
    """A threading HTTP server for a WSGI app; ``port=0`` picks a free port."""

    def __init__(self, app: WSGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = make_server(
            host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port`` (without the token)."""
        host = self._server.server_address[0]
        return f"http://{host!s}:{self.port}"

    def start(self) -> CallbackServer:
        """Serve in a background thread; returns at once."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"callbacks-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> CallbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
