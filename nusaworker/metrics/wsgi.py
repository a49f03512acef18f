"""The receiver's metrics: every answer it gives counted by route and status, and ``GET
/metrics`` served as one of its pages (beside ``/status``).

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

__all__ = ["PATH", "MeteredApp", "metrics_page"]

PATH = "/metrics"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def metrics_page(registry: CollectorRegistry | None = None) -> WSGIApp:
    """The app of :data:`PATH`: this process's metrics (all the server's processes' in
    multiprocess mode), a page of the receiver like ``/status``."""
    page: WSGIApp = wsgi_app(registry if registry is not None else process_registry())
    return page


class MeteredApp:
    """``app`` with every answer counted (:data:`CALLBACKS`) by route and status.

    ``routes``: the endpoint names after the token (``<token>/<route>``), labelled as they
    are; ``pages``: the receiver's token-less paths (``/status``, ``/metrics``), labelled by
    their name; anything else is ``other``.
    """

    def __init__(self, app: WSGIApp, *, routes: Iterable[str], pages: Iterable[str] = ()) -> None:
        self.app = app
        self.routes = frozenset(routes)
        self.pages = frozenset(pages)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)  # the wrapped app's attributes (its ledger, its pages)

    def route_of(self, path: str) -> str:
        """The route label of ``path`` (the token is dropped, never labelled)."""
        if path == "/healthz" or path in self.pages:
            return path.strip("/")
        _, _, rest = path.lstrip("/").partition("/")
        rest = rest.strip("/")
        return rest if rest in self.routes else "other"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        route = self.route_of(str(environ.get("PATH_INFO", "") or "/"))

        def counted(status: str, headers: Any, exc_info: Any = None) -> Any:
            CALLBACKS.labels(route, status.split(" ", 1)[0]).inc()
            return start_response(status, headers, exc_info)

        return self.app(environ, counted)
