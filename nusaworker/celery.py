"""The Celery app: ``celery -A nusaworker worker …`` and ``celery -A nusaworker beat``.

Settings are read here, once; static Celery settings live in ``celeryconfig.py`` at the repo
root, the beat schedule is the features' own (``credit.schedule``, ``tracking.schedule``).
The worker-side objects are wired once per process by :mod:`nusaworker.container`, from the
signals in :mod:`nusaworker.tasks.process`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

import redis
from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger
from kombu.transport import redis as kombu_redis

from nusaworker import logs
from nusaworker.campaigns.dispatch import SCHEDULE as CAMPAIGN_SCHEDULE
from nusaworker.campaigns.recurring import SCHEDULE as RECURRING_SCHEDULE
from nusaworker.connections import SecretURL
from nusaworker.credit.schedule import SCHEDULE as CREDIT_SCHEDULE
from nusaworker.factories import broker_app
from nusaworker.failover import SCHEDULE as FAILOVER_SCHEDULE
from nusaworker.keys import Keys
from nusaworker.phonecheck import SCHEDULE as PHONECHECK_SCHEDULE
from nusaworker.settings import Settings, load_settings
from nusaworker.tracking.schedule import SCHEDULE as TRACKING_SCHEDULE


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


TASK_MODULES = ("nusaworker.tasks",)


def survive_broker_restart() -> None:
    """Keep a worker alive when Redis restarts under it (kombu 5.7 with Celery 5.7).

    On a lost broker connection Celery first ``collect()``s the connection — which clears the
    transport's ``client`` — and then closes it. A channel that was waiting on its queues
    (a BRPOP in flight) survived the first close half-done, so the second one restores its
    unacknowledged messages through a new pool, whose parameters kombu reads from that cleared
    client: an ``AttributeError``, which the consumer takes as unrecoverable — the worker
    exited (tests/integration/test_broker_restart.py). Here that case raises the connection
    error it is: the close ignores it and the consumer reconnects. The messages stay in the
    broker's unacknowledged set: the ledger's orphan sweep sends an unsent one again within
    seconds, the visibility timeout hands back the rest, and the claim refuses what was sent.
    """
    channel = kombu_redis.Channel
    original = channel._connparams
    if getattr(original, "nusaworker_guard", False):
        return

    def _connparams(self: Any, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            raise redis.ConnectionError("broker connection already closed: nothing to restore")
        return original(self, asynchronous)

    _connparams.nusaworker_guard = True  # type: ignore[attr-defined]
    channel._connparams = _connparams  # type: ignore[method-assign]


def make_app(settings: Settings) -> Celery:
    """The fleet's Celery app for ``settings``: its broker, its tasks and its beat schedule."""
    app = broker_app(settings, include=TASK_MODULES)
    app.conf.beat_schedule = {
        **CREDIT_SCHEDULE,
        **TRACKING_SCHEDULE,
        **FAILOVER_SCHEDULE,
        **PHONECHECK_SCHEDULE,
        **CAMPAIGN_SCHEDULE,
        **RECURRING_SCHEDULE,
    }
    # celery-redbeat (beat_scheduler in celeryconfig): the schedule and the beat lock live in
    # the fleet's Redis under its key prefix, so fleets sharing a Redis never share a beat.
    app.conf.redbeat_redis_url = SecretURL(settings.redis_url.get_secret_value())
    app.conf.redbeat_key_prefix = Keys(prefix=settings.key_prefix).redbeat_prefix
    # Beat's heartbeat (nusaworker.tracking.scheduler) goes under the fleet's prefix.
    app.conf.nusaworker_key_prefix = settings.key_prefix
    app.conf.redbeat_redis_options = {"socket_timeout": 5, "socket_connect_timeout": 2}
    if explicit_pool(sys.argv) == "prefork":
        # Celery cannot tell `--pool prefork` from its own default and would run the configured
        # pool (threads) instead: an operator who asks for prefork by name gets prefork.
        app.conf.worker_pool = None
    return app


settings = load_settings()
logs.early(settings)
survive_broker_restart()
app = make_app(settings)


@after_setup_logger.connect
@after_setup_task_logger.connect
def _log_format(logger: logging.Logger, **kwargs: Any) -> None:
    """Celery's handlers (its root logger's, its task logger's) write in the settings' format
    (``NUSAWORKER_LOG_FORMAT``) and never a secret (:mod:`nusaworker.logs`)."""
    logs.install(settings, logger)
