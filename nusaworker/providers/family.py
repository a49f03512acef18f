"""What a provider family is: its client class, its credential keywords, its default host.

Every client class takes the same keyword arguments — ``base_url``, ``gate``, ``account`` (the
pacing fingerprint; derived from the credentials when left out), ``connect_timeout``,
``read_timeout`` — plus its own credential keywords, which its family names. Whatever else a
caller passes (``max_attempts``, ``pool_size`` …) goes to the client as it is. A family's name
is also the prefix of its clients' pacing fingerprints (``"nusasms:…"``).

Each provider subpackage declares its ``FAMILY``; :mod:`.registry` lists them by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, Self, TypeVar

from pydantic import SecretStr

from nusaworker.errors import ConfigurationError

from .gate import Gate

__all__ = ["Credential", "ProviderClient", "ProviderFamily", "family_of"]


class ProviderClient(Protocol):
    """What every provider client offers beside its own endpoint methods."""

    account: str  # the pacing fingerprint: one account, one rate budget

    @property
    def base_url(self) -> str:
        """The provider's base URL (all paths hang off it)."""
        ...

    def close(self) -> None:
        """Release the pooled connections."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...


C = TypeVar("C", bound=ProviderClient)
Credential = str | SecretStr | None


@dataclass(frozen=True)
class ProviderFamily(Generic[C]):
    """One provider API: its client class, the keywords its credentials travel in, its host."""

    name: str
    client: Callable[..., C]
    credentials: tuple[str, ...]
    default_base_url: str
    # The provider's documented rate rule: one hit per this many ms per account (an account's
    # settings may set its own).
    min_interval_ms: float = 50.0
    # Whether the provider tells when a message was delivered (a status call or a push): a
    # family that does not (the carrier HTTP API) leaves its messages ``sent``; they are
    # neither polled nor counted by the slow-delivery failover.
    reports_delivery: bool = True
    # The credentials a channel needs, by the channel table's ``api`` column (NusaSMS: the JSON
    # API wants ``api_key``, SMS v3 ``sms_user`` and ``sms_password``): a route through an
    # account without them is refused at start. An API not named needs nothing in particular.
    needs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def build(
        self,
        *,
        base_url: str | None = None,
        credentials: Mapping[str, Credential] | None = None,
        gate: Gate | None = None,
        account: str | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        **options: Any,
    ) -> C:
        """A client of this family; an argument left ``None`` takes the client's default.

        Raises :class:`~nusaworker.errors.ConfigurationError` for a credential name the family
        does not know (a typo must not silently leave a credential out). Only names appear in
        the message, never values.
        """
        given = dict(credentials or {})
        unknown = sorted(set(given) - set(self.credentials))
        if unknown:
            raise ConfigurationError(
                f"provider {self.name!r} takes the credentials {list(self.credentials)}, "
                f"not {unknown}"
            )
        common = {
            "gate": gate,
            "account": account,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
        }
        kwargs = {name: value for name, value in common.items() if value is not None}
        return self.client(base_url=base_url or self.default_base_url, **given, **kwargs, **options)


def family_of(client: object) -> str:
    """The provider family of ``client``: the prefix of its pacing fingerprint
    (``"wachat:…"`` → ``"wachat"``)."""
    return str(getattr(client, "account", "")).partition(":")[0]
