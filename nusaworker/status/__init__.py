"""The status page: what the fleet is doing, at a glance, served by the callback receiver.

    board.py   the figures, read from Redis (gate, queues, campaigns, credit, dead letters)
    page.py    the HTML: one autoescaped template (templates/status.html), a refresh script
    app.py     ``GET /status`` and ``GET /status.json`` behind a token (WSGI)

An operations feature: it reads every other feature (campaigns, credit, tracking) and the
layers below them, and nothing imports it but the receiver's entry point
(:mod:`nusaworker.tracking.wsgi`), which mounts it. See docs/operations.md.
"""

from __future__ import annotations

import functools

import redis

from nusaworker.settings import Settings
from nusaworker.status.app import PATHS, StatusApp
from nusaworker.status.board import StatusBoard

__all__ = ["PATHS", "StatusApp", "StatusBoard", "status_app"]


def status_app(settings: Settings, redis_client: redis.Redis) -> StatusApp:
    """The status page of the fleet ``settings`` describe, on ``redis_client``; its token is
    ``status_token``, else ``callback_token``. The board is built on the first request (a
    receiver nobody looks at never builds the accounts' clients)."""
    token = settings.status_token.get_secret_value() or settings.callback_token
    board = functools.cache(lambda: StatusBoard.from_settings(settings, redis_client))
    return StatusApp(lambda: board().read(), token=token)
