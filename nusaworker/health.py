"""Fleet health: ``nusaworker check`` — one verdict from Redis, for a probe or for cron.

Everything is read from what the fleet already writes, in a handful of round trips, with no
broadcast to the workers (a Celery ``inspect ping`` waits for every worker's answer):

============== ================================================== =============================
check          read from                                          unwell when
============== ================================================== =============================
redis          ``PING``                                           it does not answer
consumer       the worker heartbeats (:meth:`Leases.live_workers`: no live heartbeat names the
               each names the queues its worker consumes)         queue (default ``otp``)
beat           beat's heartbeat, rewritten at every tick of the   silent longer than
               active beat (:meth:`Leases.beat_silence`)          ``health_max_beat_silence_s``
breakers       every declared account's breakers (one ``MGET``    any is open
               each, :class:`BreakerBoard`)
accepted       the accepted index's lowest score (the replay      the oldest due message waits
               sweep's sorted set: ``ZRANGEBYSCORE … LIMIT 0 1``)  longer than
                                                                  ``health_max_accepted_age_s``
============== ================================================== =============================

The first unwell check, in that order, is the verdict's one line; ``--json`` shows them all.
Roles narrow the checks for a per-pod liveness probe: ``worker`` (Redis, and a live heartbeat
of a worker on this host), ``beat`` (Redis, beat's heartbeat), ``receiver`` (its ``/healthz``).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import redis
import requests

from nusaworker.accounts import AccountTable
from nusaworker.connections import masked_url, redis_client
from nusaworker.credit.breakers import BreakerBoard
from nusaworker.factories import account_client
from nusaworker.keys import Keys
from nusaworker.ledger.leases import Leases
from nusaworker.redis_scripts import as_text
from nusaworker.settings import Settings

Role = Literal["fleet", "worker", "beat", "receiver"]
ROLES: tuple[Role, ...] = ("fleet", "worker", "beat", "receiver")

# A probe must answer within its own timeout (Kubernetes: 1 s by default, raise it to a few):
# a Redis that does not answer in this long counts as unreachable.
REDIS_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Finding:
    """One check: its name, whether it is well, and a line saying what was seen."""

    check: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Verdict:
    """The findings of one ``nusaworker check``; well when every finding is."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def line(self) -> str:
        """The first unwell finding's detail, or a summary of the well ones."""
        for finding in self.findings:
            if not finding.ok:
                return finding.detail
        return "ok: " + "; ".join(f.detail for f in self.findings)

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "line": self.line,
            "findings": [asdict(f) for f in self.findings],
        }


# -- the judgements (pure) ----------------------------------------------------------------------


def judge_consumer(workers: Mapping[str, Sequence[str]], queue: str) -> Finding:
    """Well when some live worker consumes ``queue``."""
    consumers = sorted(h.partition("|")[0] for h, queues in workers.items() if queue in queues)
    if not consumers:
        return Finding(
            "consumer",
            False,
            f"no consumer on {queue}: no live worker heartbeat names the queue "
            f"({len(workers)} worker(s) alive)",
        )
    return Finding("consumer", True, f"{len(consumers)} consumer(s) on {queue}")


def judge_beat(silence_s: float | None, max_silence_s: float) -> Finding:
    """Well when beat ticked within ``max_silence_s``."""
    if silence_s is None:
        return Finding("beat", False, "beat silent: no beat heartbeat (not for a day, or never)")
    if silence_s > max_silence_s:
        return Finding(
            "beat", False, f"beat silent for {silence_s:.0f} s (max {max_silence_s:g} s)"
        )
    return Finding("beat", True, f"beat ticked {silence_s:.0f} s ago")


def judge_breakers(open_breakers: Sequence[tuple[str, str, str]]) -> Finding:
    """Well when no breaker is open; ``open_breakers``: (account, channel, reason)."""
    if open_breakers:
        named = ", ".join(f"{a}/{c} ({r})" for a, c, r in open_breakers)
        return Finding("breakers", False, f"breaker open: {named}")
    return Finding("breakers", True, "no breaker open")


def judge_accepted(oldest: tuple[str, float] | None, max_age_s: float) -> Finding:
    """Well when the oldest due ``accepted`` message (id, age) waits at most ``max_age_s``."""
    if oldest is not None and oldest[1] > max_age_s:
        message_id, age = oldest
        return Finding(
            "accepted",
            False,
            f"oldest accepted message {message_id} waits {age:.0f} s (max {max_age_s:g} s)",
        )
    waited = "none waiting" if oldest is None else f"oldest waits {oldest[1]:.0f} s"
    return Finding("accepted", True, f"accepted: {waited}")


def judge_own_worker(workers: Mapping[str, Sequence[str]], node: str) -> Finding:
    """Well when a live heartbeat is of worker ``node`` (a node name, or ``@host``: any
    worker of that host)."""
    names = {h.partition("|")[0] for h in workers}
    mine = sorted(n for n in names if n == node or (node.startswith("@") and n.endswith(node)))
    if not mine:
        return Finding("worker", False, f"no live heartbeat of worker {node}")
    return Finding("worker", True, f"worker {', '.join(mine)} heartbeats")


# -- reading the fleet ----------------------------------------------------------------------------


def _unreachable(url: str, exc: BaseException) -> Finding:
    # The URL without its password; the error's class only (its text may quote the URL).
    return Finding("redis", False, f"Redis unreachable at {masked_url(url)} ({type(exc).__name__})")


def _redis_finding(client: redis.Redis, url: str) -> Finding:
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return _unreachable(url, exc)
    return Finding("redis", True, "Redis answers")


def _oldest_accepted(client: redis.Redis, keys: Keys, now: float) -> tuple[str, float] | None:
    # Scores are when each record became due; scheduled and held ones score in the future.
    found: list[Any] = client.zrangebyscore(
        keys.accepted_index, "-inf", now, start=0, num=1, withscores=True
    )
    if not found:
        return None
    message_id, score = found[0]
    return as_text(message_id), max(0.0, now - float(score))


def _open_breakers(
    client: redis.Redis, keys: Keys, accounts: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    opened = []
    for name, fingerprint in accounts.items():
        board = BreakerBoard(client, account=fingerprint, keys=keys)
        for channel, state in board.states().items():
            if state.open:
                opened.append((name, channel, state.reason or "manual"))
    return opened


def check(
    settings: Settings,
    *,
    role: Role = "fleet",
    queue: str = "otp",
    max_beat_silence_s: float | None = None,
    max_accepted_age_s: float | None = None,
    accounts: Callable[[], Mapping[str, str]] | None = None,
    node: str | None = None,
    now: Callable[[], float] | None = None,
) -> Verdict:
    """The verdict of ``role``'s checks (module docstring) on the fleet of ``settings``.

    ``accounts``: account name → pacing fingerprint (what breakers are keyed by), asked only
    when the breakers are checked (default: :func:`account_fingerprints` of ``settings``).
    ``node``: the worker a ``worker`` check looks for (default: any on this host,
    ``@<hostname>``).
    """
    if role == "receiver":
        return Verdict([_receiver_finding(settings)])
    keys = Keys(prefix=settings.key_prefix)
    client = redis_client(settings.redis_url, "edge", timeout_s=REDIS_TIMEOUT_S)
    try:
        reached = _redis_finding(client, settings.redis_url)
        if not reached.ok:
            return Verdict([reached])
        findings = [reached]
        leases = Leases(client, keys=keys)
        beat_max = max_beat_silence_s or settings.health_max_beat_silence_s
        if role == "worker":
            own = node or f"@{socket.gethostname()}"
            findings.append(judge_own_worker(leases.live_workers(), own))
        elif role == "beat":
            findings.append(judge_beat(leases.beat_silence(), beat_max))
        else:
            clock_now = now() if now is not None else _redis_now(client)
            age_max = max_accepted_age_s or settings.health_max_accepted_age_s
            fingerprints = accounts or (lambda: account_fingerprints(settings))
            findings += [
                judge_consumer(leases.live_workers(), queue),
                judge_beat(leases.beat_silence(), beat_max),
                judge_breakers(_open_breakers(client, keys, fingerprints())),
                judge_accepted(_oldest_accepted(client, keys, clock_now), age_max),
            ]
        return Verdict(findings)
    except (redis.RedisError, OSError) as exc:
        # Reached at first, lost on the way: still unreachable, said the same way.
        return Verdict([_unreachable(settings.redis_url, exc)])
    finally:
        client.close()


def account_fingerprints(settings: Settings) -> dict[str, str]:
    """Every declared account's name → its pacing fingerprint (what its breakers are keyed
    by), learnt by building its client: no hit is made."""
    found = {}
    for name, account in AccountTable.from_settings(settings).accounts.items():
        with account_client(settings, account) as client:
            found[name] = str(client.account)
    return found


def _redis_now(client: redis.Redis) -> float:
    """Redis's clock: the ledger's scores are written by many machines; one reference."""
    seconds, micros = client.time()
    return float(seconds) + micros / 1e6


def _receiver_finding(settings: Settings) -> Finding:
    host = settings.callback_host
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    url = f"http://{host}:{settings.callback_port}/healthz"
    try:
        answer = requests.get(url, timeout=REDIS_TIMEOUT_S)
    except requests.RequestException as exc:
        return Finding("receiver", False, f"receiver not answering at {url} ({type(exc).__name__})")
    if answer.status_code != 200:
        return Finding("receiver", False, f"receiver at {url} answered {answer.status_code}")
    return Finding("receiver", True, f"receiver answers at {url}")
