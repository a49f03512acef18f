"""The receiver's metrics: every answer it gives counted by route and status, and ``GET
/metrics`` served beside its routes.

The route label is the endpoint's name (``wa/status``, ``sms/inbox`` …), ``healthz`` or
``other`` — never the path itself, whose first segment is the secret token. Under a pre-forking
WSGI server (gunicorn ``-w 4``) set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before
it starts: each server process then counts into its own file and any of them serves the sum.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry

from nusaworker.metrics.exposition import process_registry, wsgi_app
from nusaworker.metrics.instruments import CALLBACKS

__all__ = ["PATH", "MeteredApp"]

PATH = "/metrics"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class MeteredApp:
    """``app`` with its answers counted (:data:`CALLBACKS`) and :data:`PATH` served.

    ``routes``: the endpoint names after the token (``<token>/<route>``) that are labelled as
    they are; any other path is ``other``.
    """

    def __init__(
        self, app: WSGIApp, *, routes: Iterable[str], registry: CollectorRegistry | None = None
    ) -> None:
        self.app = app
        self.routes = frozenset(routes)
        self.registry = registry if registry is not None else process_registry()
        self._metrics = wsgi_app(self.registry)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)  # the wrapped app's attributes (its ledger, its pages)

    def route_of(self, path: str) -> str:
        """The route label of ``path`` (the token is dropped, never labelled)."""
        if path == "/healthz":
            return "healthz"
        _, _, rest = path.lstrip("/").partition("/")
        rest = rest.strip("/")
        return rest if rest in self.routes else "other"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", "") or "/")
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if path == PATH and method in ("GET", "HEAD"):
            result: Iterable[bytes] = self._metrics(environ, start_response)
            return result
        route = self.route_of(path)

        def counted(status: str, headers: Any, exc_info: Any = None) -> Any:
            CALLBACKS.labels(route, status.split(" ", 1)[0]).inc()
            return start_response(status, headers, exc_info)

        return self.app(environ, counted)
