"""Coalesced, cached WhatsApp phone checks: many askers, full 100-number hits, answers in Redis.

The provider checks up to 100 numbers per hit and pushes the answers to a callback later
(seed 001, ``wa_phone_check``). Campaigns (the ``auto`` channel) and backends ask for a few
numbers at a time; sending each request as its own hit would spend the account's whole pacing
budget on nearly empty hits. So every ask goes through one fleet-wide place:

* **the cache** — number → registered or not, one key per number, with a TTL
  (``NUSAWORKER_PHONE_CHECK_TTL_S``). Every phone-check push the callback receiver gets fills
  it, whoever asked (:meth:`PhoneChecks.record`);
* **the pending set** — numbers asked for and not cached, deduplicated, each scored by when it
  was first asked. :meth:`PhoneChecks.request` answers what the cache holds and queues the
  rest in one script (``lua/phonecheck_request.lua``); a number already queued or in flight is
  not queued twice;
* **the dispatcher** — a beat job (``nusaworker.housekeeping.phone_checks``, every second,
  under a per-run lock) calls :func:`dispatch`: :meth:`PhoneChecks.take` pops every full batch
  and, once its oldest number has waited the linger (``NUSAWORKER_PHONE_CHECK_LINGER_S``), the
  partial rest, atomically (``lua/phonecheck_take.lua``: two dispatchers never take one number
  twice); each batch of up to 100 goes out as one ``check`` message through the normal send
  path — ledger, routes, breakers and the pacing gate apply as to any message.

N askers x a few numbers each thus cost ceil(total / 100) hits, and an answer asked for again
within the TTL costs none.

Numbers are put in the provider's form by :func:`nusaworker.phones.provider_number`: a leading
``+``, spaces, dashes and brackets are dropped (``+62 812-3456-7890`` → ``6281234567890``), and a
national number is read in the default region (``NUSAWORKER_DEFAULT_REGION``: ``0812…`` →
``62812…``), as the campaign input reads it. Anything else, a national number that is not valid,
or a length outside the endpoint's 8 to 14 digits, raises :class:`InvalidCheckNumber` before
anything is written.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from nusaworker.errors import NusaWorkerError
from nusaworker.keys import PHONE_CHECK_INFLIGHT_S, PHONE_CHECK_REQUEST_TTL_S, Keys
from nusaworker.phones import InvalidPhoneNumber, provider_number
from nusaworker.redis_scripts import as_text, lua
from nusaworker.settings import Settings

# The provider's limit per hit (seed 001: 1 to 100 numbers).
BATCH_SIZE = 100
# The endpoint's bounds on a number (the sandbox and the request model agree).
MIN_DIGITS = 8
MAX_DIGITS = 14
# Numbers per script call when asking for many: each call stays short so that other clients'
# commands interleave with a campaign's big ask.
CHUNK = 1_000

# The beat entry (merged into ``beat_schedule`` by ``nusaworker/celery.py``). A run that could
# not start within a period is dropped: the next tick takes whatever is due.
DISPATCH_PERIOD_S = 1.0
DISPATCH_LOCK_TTL_S = 30.0
SCHEDULE: dict[str, dict[str, Any]] = {
    "phonecheck.dispatch": {
        "task": "nusaworker.housekeeping.phone_checks",
        "schedule": DISPATCH_PERIOD_S,
        "options": {"expires": 2 * DISPATCH_PERIOD_S, "priority": 0},
    },
}

_SEPARATORS = re.compile(r"[\s\-]+")
_DIGITS = re.compile(r"[0-9]+")
_CHECK_ID = re.compile(r"pc-[0-9a-f]{32}")

Answers = dict[str, bool | None]


class PhoneCheckError(NusaWorkerError):
    """Raised when a phone-check request cannot be taken (the base of this module's errors)."""

    retryable = False


class InvalidCheckNumber(PhoneCheckError, ValueError):
    """Raised when a number to check is not 8 to 14 digits (after an optional ``+``, spaces
    and dashes are dropped)."""

    retryable = False


class UnknownCheck(PhoneCheckError, KeyError):
    """Raised when a check id is malformed, or its numbers are no longer known (expired)."""

    retryable = False


# What an error message shows of a refused number: enough to find it, never a whole huge input.
_SHOWN = 40


def normalise(number: str, *, region: str = "ID") -> str:
    """``number`` in the provider's form (digits only), or :class:`InvalidCheckNumber` saying
    why not; a national number is read in ``region``."""
    if not isinstance(number, str):
        raise InvalidCheckNumber(f"not a phone number: a {type(number).__name__}")
    shown = repr(number[:_SHOWN]) + ("…" if len(number) > _SHOWN else "")
    text = _SEPARATORS.sub("", number.strip()) if len(number) <= _SHOWN else number
    try:
        text = provider_number(text, region=region)
    except InvalidPhoneNumber as exc:
        raise InvalidCheckNumber(str(exc)) from None
    if not _DIGITS.fullmatch(text):
        raise InvalidCheckNumber(f"not a phone number (digits, '+', spaces, dashes): {shown}")
    if not MIN_DIGITS <= len(text) <= MAX_DIGITS:
        raise InvalidCheckNumber(f"a number has {MIN_DIGITS} to {MAX_DIGITS} digits: {shown}")
    return text


def normalise_all(numbers: Iterable[str], *, region: str = "ID") -> list[str]:
    """Every number normalised, duplicates dropped, first-seen order kept; one bad number
    refuses the whole call (:class:`InvalidCheckNumber` naming it and its position)."""
    seen: dict[str, None] = {}
    for i, number in enumerate(numbers):
        try:
            seen.setdefault(normalise(number, region=region), None)
        except InvalidCheckNumber as exc:
            raise InvalidCheckNumber(f"numbers[{i}]: {exc}") from None
    return list(seen)


def batches(numbers: Sequence[str], size: int = BATCH_SIZE) -> list[list[str]]:
    """``numbers`` cut into hits of at most ``size``, in order: ⌈len / size⌉ of them."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    return [list(numbers[i : i + size]) for i in range(0, len(numbers), size)]


def answer_of(reply: Any) -> bool | None:
    """A cache reply as an answer: ``"1"`` registered, ``"0"`` not, nothing → pending."""
    if reply is None:
        return None
    text = as_text(reply)
    return None if text == "" else text == "1"


@dataclass(frozen=True)
class DispatchReport:
    """What one dispatcher run did."""

    taken: int
    messages: tuple[str, ...]


class PhoneChecks:
    """The cache, the pending set and the atomic take, over one Redis (thread-safe).

    Args:
        redis_client: the fleet's Redis.
        keys: key names (:class:`~nusaworker.keys.Keys`).
        ttl_s: how long an answer is cached.
        linger_s: how long a partial batch waits for more numbers.
        max_per_run: numbers one :meth:`take` hands out at most (a multiple of 100).
        region: where a national number (``0812…``) is read.
    """

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        keys: Keys,
        ttl_s: int = 7 * 24 * 3600,
        linger_s: float = 2.0,
        max_per_run: int = 4_000,
        region: str = "ID",
    ) -> None:
        if max_per_run < BATCH_SIZE or max_per_run % BATCH_SIZE:
            raise ValueError(f"max_per_run must be a multiple of {BATCH_SIZE}")
        self.redis = redis_client
        self.keys = keys
        self.ttl_s = ttl_s
        self.linger_s = linger_s
        self.max_per_run = max_per_run
        self.region = region
        self._request = redis_client.register_script(lua("nusaworker", "phonecheck_request"))
        self._take = redis_client.register_script(lua("nusaworker", "phonecheck_take"))

    @classmethod
    def from_settings(cls, redis_client: redis.Redis, settings: Settings) -> PhoneChecks:
        """Phone checks with the TTL, linger and per-run cap of ``settings``."""
        return cls(
            redis_client,
            keys=Keys(prefix=settings.key_prefix),
            ttl_s=settings.phone_check_ttl_s,
            linger_s=settings.phone_check_linger_s,
            max_per_run=settings.phone_check_max_per_run,
            region=settings.default_region,
        )

    # -- askers -----------------------------------------------------------------------------

    def request(self, numbers: Iterable[str]) -> Answers:
        """Answer ``numbers`` from the cache now and queue the rest for a check.

        Returns number (normalised) → ``True`` (on WhatsApp), ``False`` (not), or ``None``
        (pending: queued now, or already queued or in flight). Raises :class:`InvalidCheckNumber`
        before anything is queued.
        """
        wanted = normalise_all(numbers, region=self.region)
        answers: Answers = {}
        for chunk in batches(wanted, CHUNK):
            cache_keys = [self.keys.phone_check(n) for n in chunk]
            replies = self._request(
                keys=[self.keys.phone_check_pending, self.keys.phone_check_inflight, *cache_keys],
                args=[PHONE_CHECK_INFLIGHT_S, *chunk],
            )
            answers.update(zip(chunk, map(answer_of, replies), strict=True))
        return answers

    def lookup(self, numbers: Iterable[str]) -> Answers:
        """The cached answers of ``numbers`` (``None``: not known); queues nothing."""
        wanted = normalise_all(numbers, region=self.region)
        answers: Answers = {}
        for chunk in batches(wanted, CHUNK):
            replies = self.redis.mget([self.keys.phone_check(n) for n in chunk])
            answers.update(zip(chunk, map(answer_of, replies), strict=True))
        return answers

    def wait(self, numbers: Iterable[str], timeout: float, *, poll_s: float = 0.2) -> Answers:
        """:meth:`request` ``numbers``, then wait up to ``timeout`` seconds for every answer.

        Returns what is known by then; a number still ``None`` was not answered in time (it
        stays queued or in flight, and a later :meth:`lookup` may find it).
        """
        answers = self.request(numbers)
        deadline = time.monotonic() + timeout
        while True:
            missing = [n for n, a in answers.items() if a is None]
            if not missing:
                return answers
            left = deadline - time.monotonic()
            if left <= 0:
                return answers
            time.sleep(min(poll_s, left))
            answers.update(self.lookup(missing))

    def remember(self, numbers: Iterable[str]) -> str:
        """A check id naming ``numbers`` (normalised), for :meth:`results` later."""
        wanted = normalise_all(numbers, region=self.region)
        check_id = f"pc-{uuid.uuid4().hex}"
        key = self.keys.phone_check_request(check_id)
        self.redis.set(key, json.dumps(wanted), ex=PHONE_CHECK_REQUEST_TTL_S)
        return check_id

    def results(self, check_id: str) -> Answers:
        """The answers so far of the numbers a check id names (``None``: pending)."""
        if not isinstance(check_id, str) or not _CHECK_ID.fullmatch(check_id):
            shown = repr(check_id)[:_SHOWN]
            raise UnknownCheck(f"not a check id: {shown}")
        raw = self.redis.get(self.keys.phone_check_request(check_id))
        if raw is None:
            raise UnknownCheck(f"check {check_id} is unknown or expired")
        return self.lookup(json.loads(as_text(raw)))

    def pending(self) -> int:
        """Numbers waiting for a batch."""
        return int(self.redis.zcard(self.keys.phone_check_pending))

    def in_flight(self) -> int:
        """Numbers taken for a check and not answered yet (overdue ones included until the next
        :meth:`take` drops them)."""
        return int(self.redis.zcard(self.keys.phone_check_inflight))

    # -- the callback receiver --------------------------------------------------------------

    def record(self, answers: Mapping[str, bool]) -> int:
        """Cache pushed answers (whoever asked); returns how many numbers were cached.

        A number in the answer is also taken off the pending and in-flight sets: it is known
        now, so no hit needs to ask for it.
        """
        known: dict[str, bool] = {}
        for number, registered in answers.items():
            try:
                known[normalise(number, region=self.region)] = bool(registered)
            except InvalidCheckNumber:
                continue  # a push about a number no check could ask for: nothing to cache
        if not known:
            return 0
        pipe = self.redis.pipeline(transaction=False)
        for number, registered in known.items():
            pipe.set(self.keys.phone_check(number), "1" if registered else "0", ex=self.ttl_s)
        pipe.zrem(self.keys.phone_check_pending, *known)
        pipe.zrem(self.keys.phone_check_inflight, *known)
        pipe.execute()
        return len(known)

    # -- the dispatcher ---------------------------------------------------------------------

    def take(self) -> list[list[str]]:
        """The batches due now, taken atomically (marked in flight): every full one, and the
        partial rest once its oldest number waited the linger; at most ``max_per_run``."""
        taken = self._take(
            keys=[self.keys.phone_check_pending, self.keys.phone_check_inflight],
            args=[BATCH_SIZE, self.linger_s, self.max_per_run, PHONE_CHECK_INFLIGHT_S],
        )
        return batches([as_text(n) for n in taken])

    def requeue(self, numbers: Sequence[str]) -> None:
        """Put taken numbers back at the head of the queue (their message was not accepted)."""
        if not numbers:
            return
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(self.keys.phone_check_inflight, *numbers)
        # Score 0: they were asked for first, so they go out first, without a new linger.
        pipe.zadd(self.keys.phone_check_pending, dict.fromkeys(numbers, 0), nx=True)
        pipe.execute()


def dispatch(checks: PhoneChecks, submit: Callable[[list[str]], str]) -> DispatchReport:
    """Send the batches due now, one ``check`` message each through ``submit`` (which returns
    the message id). A batch whose submit raises goes back to the queue, with every batch
    after it, and the error is raised: the next tick tries again."""
    due = checks.take()
    sent: list[str] = []
    for i, batch in enumerate(due):
        try:
            sent.append(submit(batch))
        except Exception:
            checks.requeue([n for rest in due[i:] for n in rest])
            raise
    return DispatchReport(taken=sum(map(len, due)), messages=tuple(sent))
