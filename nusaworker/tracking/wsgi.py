"""The callback receiver as a WSGI ``application``, for any WSGI server::

    NUSAWORKER_CALLBACK_TOKEN=… gunicorn -w 4 -b 0.0.0.0:8090 nusaworker.tracking.wsgi:application

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
from nusaworker.metrics.wsgi import MeteredApp
from nusaworker.phonecheck import PhoneChecks
from nusaworker.settings import Settings, load_settings
from nusaworker.suppression import Keywords
from nusaworker.tracking.callbacks import CallbackApp, StartResponse
from nusaworker.tracking.events import EventStream
from nusaworker.tracking.inbox import InboxStore


def create_app(settings: Settings) -> MeteredApp:
    """A receiver for ``settings`` (Redis URL, key prefix, token, body limit, opt-out and
    opt-in keywords, phone-check TTL), with its metrics at ``GET /metrics``."""
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
    return MeteredApp(app, routes=app.routes)


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
