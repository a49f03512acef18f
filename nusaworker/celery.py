"""The Celery app: ``celery -A nusaworker worker …`` and ``celery -A nusaworker beat``.

Settings are read here, once; static Celery settings live in ``celeryconfig.py`` at the repo
root. The worker-side objects (Redis, ledger, gate, provider client) are built lazily, once
per worker process, by :func:`nusaworker.runtime.get_runtime`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from celery import Celery

from nusaworker.keys import Keys
from nusaworker.settings import Settings, load_settings


def explicit_pool(argv: Sequence[str]) -> str | None:
    """The pool named on a ``celery … worker`` command line (``-P x``, ``--pool x``,
    ``--pool=x``, ``-Px``), or ``None``."""
    for i, arg in enumerate(argv):
        if arg in ("-P", "--pool") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--pool="):
            return arg.split("=", 1)[1]
        if arg.startswith("-P") and len(arg) > 2 and not arg.startswith("--"):
            return arg[2:]
    return None


def make_app(settings: Settings) -> Celery:
    """A Celery app for ``settings``: the fleet's, or a producer's pointed at another Redis."""
    app = Celery(
        "nusaworker",
        broker=settings.redis_url,
        include=["nusaworker.tasks", "nusaworker.credit.tasks", "nusaworker.tracking.tasks"],
    )
    app.config_from_object("celeryconfig")
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "visibility_timeout": settings.visibility_timeout_s,
        # Sweep for tasks of dead workers often enough to redeliver them soon after the
        # visibility timeout (kombu's default sweeps only every ~100 s).
        "unacked_restore_interval": max(1, min(10, settings.visibility_timeout_s // 10)),
        "unacked_restore_throttle": 1,
        # Kombu's Redis keys share the ledger's prefix, so one Redis can host several fleets.
        "global_keyprefix": settings.key_prefix,
    }
    # celery-redbeat (beat_scheduler in celeryconfig): the schedule and the beat lock live in
    # the fleet's Redis under its key prefix, so fleets sharing a Redis never share a beat.
    app.conf.redbeat_redis_url = settings.redis_url
    app.conf.redbeat_key_prefix = Keys(prefix=settings.key_prefix).redbeat_prefix
    app.conf.redbeat_redis_options = {"socket_timeout": 5, "socket_connect_timeout": 2}
    if explicit_pool(sys.argv) == "prefork":
        # Celery cannot tell `--pool prefork` from its own default and would run the configured
        # pool (threads) instead: an operator who asks for prefork by name gets prefork.
        app.conf.worker_pool = None
    return app


settings = load_settings()
app = make_app(settings)
