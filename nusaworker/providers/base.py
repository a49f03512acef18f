"""What every provider client shares: its paced, retried :class:`~.transport.Transport`, built
from the common keyword arguments, and the client plumbing around it (``base_url``, ``close``,
the context manager, a repr without credentials). A provider's client subclasses
:class:`TransportClient` and calls :meth:`TransportClient._connect` once its ``account``
(the pacing fingerprint) is known; see :mod:`.family` for the keywords every client takes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Self

from pydantic import SecretStr

from .gate import Gate, NoopGate
from .transport import RetryPolicy, Transport

__all__ = ["TransportClient", "secret"]


def secret(value: str | SecretStr | None) -> SecretStr:
    """``value`` as a :class:`~pydantic.SecretStr` (empty when not given)."""
    return value if isinstance(value, SecretStr) else SecretStr(value or "")


class TransportClient:
    """Base of the provider clients: one transport, its retry policy, the client plumbing."""

    account: str
    policy: RetryPolicy
    _transport: Transport

    def _connect(
        self,
        *,
        base_url: str,
        gate: Gate | None,
        secrets: Sequence[SecretStr],
        connect_timeout: float,
        read_timeout: float,
        max_attempts: int,
        max_retry_time: float,
        backoff_base: float,
        backoff_cap: float,
        rate_limit_penalty: float,
        pool_size: int,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Build the retry policy and the transport (every hit paced by ``gate``, the account
        :attr:`account`); ``secrets`` are masked in whatever the transport logs or raises."""
        self.policy = RetryPolicy(
            max_attempts=max_attempts,
            max_retry_time=max_retry_time,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            rate_limit_penalty=rate_limit_penalty,
        )
        self._transport = Transport(
            base_url=base_url,
            gate=gate if gate is not None else NoopGate(),
            account=self.account,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            policy=self.policy,
            secrets=tuple(secrets),
            pool_size=pool_size,
            sleep=sleep,
        )

    @property
    def base_url(self) -> str:
        """The provider's base URL (all paths hang off it)."""
        return self._transport.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, account={self.account!r})"

    def close(self) -> None:
        """Release the pooled connections."""
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
