"""The callback receiver as a WSGI ``application``.

``nusaworker callbacks`` serves it with waitress (:mod:`nusaworker.tracking.receiver`: timeouts,
body limit, graceful stop). Any other WSGI server can serve :data:`application`, e.g.::

    NUSAWORKER_CALLBACK_TOKEN=… waitress-serve --port 8090 nusaworker.tracking.wsgi:application

Settings are read (and Redis connected) on the first request, inside each server worker, not
at import: a pre-forking server then gives every worker its own connections.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from nusaworker.connections import redis_client
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger
from nusaworker.metrics.wsgi import PATH as METRICS_PATH
from nusaworker.metrics.wsgi import MeteredApp, metrics_page
from nusaworker.phonecheck import PhoneChecks
from nusaworker.settings import Settings, load_settings
from nusaworker.status import PATHS as STATUS_PATHS
from nusaworker.status import status_app
from nusaworker.suppression import Keywords
from nusaworker.tracking.callbacks import CallbackApp, StartResponse
from nusaworker.tracking.events import EventStream
from nusaworker.tracking.inbox import InboxStore


def create_app(settings: Settings) -> MeteredApp:
    """A receiver for ``settings`` (Redis URL, key prefix, token, body limit, opt-out and
    opt-in keywords, phone-check TTL), with the status page at ``/status`` and its metrics at
    ``/metrics``; every answer is counted (:mod:`nusaworker.metrics.wsgi`)."""
    client = redis_client(settings.redis_url, "edge")
    keys = Keys(prefix=settings.key_prefix)
    app = CallbackApp(
        ledger=Ledger(client, keys=keys, retention_s=settings.record_retention_days * 24 * 3600),
        inbox=InboxStore(client, keys=keys, keywords=Keywords.from_settings(settings)),
        events=EventStream(client, keys=keys),
        token=settings.callback_token,
        max_body_bytes=settings.callback_max_body_bytes,
        phone_checks=PhoneChecks.from_settings(client, settings),
    )
    app.pages.update(dict.fromkeys(STATUS_PATHS, status_app(settings, client)))
    app.pages[METRICS_PATH] = metrics_page()
    return MeteredApp(app, routes=app.routes, pages=app.pages)


class _LazyApplication:
    """Builds the receiver from the environment on the first request."""

    def __init__(self) -> None:
        self._app: MeteredApp | None = None
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = create_app(load_settings())
        return self._app(environ, start_response)


application = _LazyApplication()
