"""Fault profile of the sandbox: latency, injected 429/5xx, dropped, malformed and garbage answers.

A :class:`FaultProfile` is plain data (settable at construction, by :meth:`Sandbox.set_faults`
or ``POST /_sandbox/faults``). :func:`draw` turns it into the decision for one hit, using the
sandbox's single seeded ``random.Random`` so a sequential client sees a reproducible run.
Faults never apply to the control surface under ``/_sandbox/``.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .garbage import DEFAULT_KINDS, KINDS

PROBABILITIES = (
    "p_429",
    "p_429_retry_after",
    "p_5xx",
    "p_drop_after_accept",
    "p_malformed",
    "p_timeout_after_accept",
    "p_garbage",
)
FIVE_XX = (500, 502, 503)


@dataclass(frozen=True)
class FaultProfile:
    """What can go wrong on a provider hit; everything defaults to off.

    Attributes:
        latency_ms: Added delay before answering (after the arrival timestamp and the rate check).
        latency_jitter_ms: Uniform ``±`` jitter on ``latency_ms`` (the delay never goes below 0).
        p_429: Chance a hit is answered 429 without being processed.
        p_429_retry_after: Fraction of those injected 429s that carry ``Retry-After``.
        retry_after_s: The ``Retry-After`` value (sent as whole seconds, rounded up).
        retry_after_date: Send ``Retry-After`` as an HTTP-date instead of seconds.
        p_5xx: Chance a hit is answered 500/502/503 with an HTML page, not processed.
        p_drop_after_accept: Chance an accepted send is processed, then the connection is
            closed without any answer (the client cannot know the outcome).
        p_malformed: Chance a successful answer is replaced by a truncated JSON or empty body
            (sends are processed first).
        p_timeout_after_accept: Chance an accepted send is processed, then the server sleeps
            ``timeout_sleep_s`` and closes the connection (client read timeout).
        timeout_sleep_s: How long the "timeout after accept" fault holds the connection.
        down_paths: Path prefixes answered 503 on every hit, never processed: an endpoint (a
            channel) that is down for good while the others work.
        p_garbage: Chance a provider hit is processed, then answered with garbage instead of
            its answer (wrong types, truncated, HTML, huge, not HTTP …: :mod:`.garbage`).
        garbage_kinds: The kinds drawn from (uniformly); empty: every kind but the slow ones
            (``drip``, which must be named).
        garbage_seed: The seed every garbage answer is made with (``None``: a fresh one per hit,
            from the sandbox's RNG). The hit log names each garbage answer ``garbage:kind:seed``;
            this replays one.
        garbage_paths: Path prefixes answered garbage on every hit (processed first): an
            endpoint that has gone bad while the others work.
    """

    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    p_429: float = 0.0
    p_429_retry_after: float = 0.0
    retry_after_s: float = 1.0
    retry_after_date: bool = False
    p_5xx: float = 0.0
    p_drop_after_accept: float = 0.0
    p_malformed: float = 0.0
    p_timeout_after_accept: float = 0.0
    timeout_sleep_s: float = 30.0
    down_paths: tuple[str, ...] = ()
    p_garbage: float = 0.0
    garbage_kinds: tuple[str, ...] = ()
    garbage_seed: int | None = None
    garbage_paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in PROBABILITIES:
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value!r}")
        for name in ("latency_ms", "latency_jitter_ms", "retry_after_s", "timeout_sleep_s"):
            if float(getattr(self, name)) < 0:
                raise ValueError(f"{name} must not be negative")
        unknown = sorted(set(self.garbage_kinds) - set(KINDS))
        if unknown:
            raise ValueError(
                f"unknown garbage kind(s): {', '.join(unknown)} (one of: {', '.join(KINDS)})"
            )

    @property
    def garbage_pool(self) -> tuple[str, ...]:
        """The garbage kinds a hit draws from."""
        return self.garbage_kinds or DEFAULT_KINDS

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FaultProfile:
        """Build a profile from JSON-like data; unknown field names raise ``ValueError``."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name == "retry_after_date":
                values[name] = bool(value)
            elif name == "garbage_seed":
                try:
                    values[name] = None if value is None else int(value)
                except (TypeError, ValueError):
                    raise ValueError(f"garbage_seed must be an integer, got {value!r}") from None
            elif name in ("down_paths", "garbage_kinds", "garbage_paths"):
                if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                    raise ValueError(f"{name} must be a list of names, got {value!r}")
                values[name] = tuple(value)
            else:
                try:
                    values[name] = float(value)
                except (TypeError, ValueError):
                    raise ValueError(f"{name} must be a number, got {value!r}") from None
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The profile as JSON-ready data (the shape ``from_mapping`` accepts)."""
        data = dataclasses.asdict(self)
        data["down_paths"] = list(self.down_paths)
        data["garbage_kinds"] = list(self.garbage_kinds)
        data["garbage_paths"] = list(self.garbage_paths)
        return data


@dataclass(frozen=True)
class FaultDecision:
    """What the faults decided for one hit (drawn once, at arrival, under the state lock)."""

    delay_s: float = 0.0
    reject: str | None = None  # "429" or "5xx": answered without processing
    status_5xx: int = 500
    retry_after: bool = False
    after: str | None = None  # "drop", "timeout", "malformed" or "garbage": after processing
    malformed_empty: bool = False
    hold_s: float = 0.0  # how long "timeout" holds the connection before closing it
    garbage_kind: str | None = None  # with after == "garbage": which kind (see .garbage)
    garbage_seed: int = 0  # and the seed its answer is made with


def _on(path: str, prefixes: tuple[str, ...]) -> bool:
    return bool(path) and any(path.startswith(prefix) for prefix in prefixes)


def draw(
    profile: FaultProfile, rng: random.Random, *, is_send: bool, path: str = ""
) -> FaultDecision:
    """Decide the faults of one hit; draws only for the knobs that are switched on."""
    if _on(path, profile.down_paths):
        return FaultDecision(
            delay_s=max(0.0, profile.latency_ms) / 1000.0, reject="5xx", status_5xx=503
        )

    def chance(p: float) -> bool:
        return p > 0 and rng.random() < p

    delay = profile.latency_ms
    if profile.latency_jitter_ms > 0:
        delay += rng.uniform(-profile.latency_jitter_ms, profile.latency_jitter_ms)
    delay_s = max(0.0, delay) / 1000.0
    if chance(profile.p_429):
        return FaultDecision(
            delay_s=delay_s, reject="429", retry_after=chance(profile.p_429_retry_after)
        )
    if chance(profile.p_5xx):
        return FaultDecision(delay_s=delay_s, reject="5xx", status_5xx=rng.choice(FIVE_XX))
    after: str | None = None
    if is_send and chance(profile.p_drop_after_accept):
        after = "drop"
    elif is_send and chance(profile.p_timeout_after_accept):
        after = "timeout"
    elif chance(profile.p_malformed):
        after = "malformed"
    elif _on(path, profile.garbage_paths) or chance(profile.p_garbage):
        return FaultDecision(
            delay_s=delay_s,
            after="garbage",
            garbage_kind=rng.choice(profile.garbage_pool),
            garbage_seed=(
                rng.getrandbits(32) if profile.garbage_seed is None else profile.garbage_seed
            ),
        )
    empty = after == "malformed" and rng.random() < 0.5
    return FaultDecision(
        delay_s=delay_s, after=after, malformed_empty=empty, hold_s=profile.timeout_sleep_s
    )
