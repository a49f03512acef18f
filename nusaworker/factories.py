"""How each shared object is built from settings: provider client, pacing gate, ledger, and a
Celery app that can hand tasks to the fleet's broker.

The per-process container (:mod:`nusaworker.container`) composes these; a command or a
producer that needs one object builds just that one here, with the same policies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis
from celery import Celery

from nusaworker.accounts import Account
from nusaworker.connections import Role, SecretURL, redis_client
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger
from nusaworker.pacing import CausalGate, RedisGate
from nusaworker.pacing.causal import DEFAULT_SAFETY_MARGIN_MS as CAUSAL_SAFETY_MARGIN_MS
from nusaworker.providers import NusaSMSClient, nusasms
from nusaworker.providers.registry import provider_family
from nusaworker.settings import Settings

PacingGate = CausalGate | RedisGate


def keys_of(settings: Settings) -> Keys:
    """The Redis key names of the fleet ``settings`` describe (its key prefix)."""
    return Keys(prefix=settings.key_prefix)


def ledger_of(settings: Settings, role: Role = "edge") -> tuple[redis.Redis, Ledger]:
    """A Redis client with ``role``'s policy (:mod:`nusaworker.connections`) and the ledger
    on it. Workers use ``ledger``; producers, the receiver and commands ``edge``."""
    client = redis_client(settings.redis_url, role)
    retention_s = settings.record_retention_days * 24 * 3600
    return client, Ledger(client, keys=keys_of(settings), retention_s=retention_s)


def provider_client(settings: Settings, **options: Any) -> NusaSMSClient:
    """The NusaSMS client (its provider family, :mod:`nusaworker.providers.registry`) with the
    settings' endpoint, credentials and timeouts; ``options`` (gate, max_attempts, account …)
    go to :class:`~nusaworker.providers.NusaSMSClient`."""
    client: NusaSMSClient = nusasms.FAMILY.build(
        base_url=settings.nusasms_base_url,
        credentials={
            "api_key": settings.nusasms_api_key,
            "sms_user": settings.nusasms_sms_user,
            "sms_password": settings.nusasms_sms_password,
            "phone_check_callback_url": settings.phone_check_callback_url,
        },
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        **options,
    )
    return client


def account_client(settings: Settings, account: Account, /, **options: Any) -> Any:
    """The provider client of one declared account (:mod:`nusaworker.accounts`): its family,
    endpoint, credentials and client options, the settings' timeouts; ``options`` (gate,
    max_attempts …) go to the client as they are."""
    spec = account.spec
    family = provider_family(account.provider)
    return family.build(
        base_url=spec.base_url,
        credentials={name: value.get_secret_value() for name, value in spec.credentials.items()},
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        **{**spec.options, **options},
    )


def pacing_gate(
    settings: Settings, keys: Keys | None = None, *, min_interval_ms: float | None = None
) -> PacingGate:
    """The fleet-wide gate the settings choose (``pacing_gate``), with its own Redis client
    (role ``gate``): a dead Redis fails the gate closed in a fraction of a second.
    ``min_interval_ms``: the rule it keeps (default: the settings' ``min_interval_ms``); a gate
    keeps one rule for every account it paces, so accounts with other rules get their own."""
    keys = keys or keys_of(settings)
    interval = settings.min_interval_ms if min_interval_ms is None else min_interval_ms
    if settings.pacing_gate == "slots":
        options: dict[str, Any] = {}
        if settings.pacing_safety_margin_ms is not None:
            options["safety_margin_ms"] = settings.pacing_safety_margin_ms
        if settings.pacing_late_tolerance_ms is not None:
            options["late_tolerance_ms"] = settings.pacing_late_tolerance_ms
        return RedisGate(settings.redis_url, min_interval_ms=interval, keys=keys, **options)
    margin = settings.pacing_safety_margin_ms
    return CausalGate(
        settings.redis_url,
        min_interval_ms=interval,
        safety_margin_ms=CAUSAL_SAFETY_MARGIN_MS if margin is None else margin,
        lease_ms=settings.pacing_lease_ms,
        keys=keys,
    )


def broker_app(settings: Settings, *, include: Iterable[str] = ()) -> Celery:
    """A Celery app on the fleet's broker: what a producer needs to hand tasks over (by name),
    and the base of the fleet's own app (:func:`nusaworker.celery.make_app`)."""
    # The one place besides redis_client that reads the URL itself. Celery masks a broker URL's
    # password where it prints it (banner, report, connection errors) but not in its conf's
    # repr, hence a SecretURL: the URL to kombu, masked in any repr of the configuration.
    broker = SecretURL(settings.redis_url.get_secret_value())
    app = Celery("nusaworker", broker=broker, include=list(include))
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
    return app
