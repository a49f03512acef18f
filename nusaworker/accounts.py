"""Provider accounts and routes: which accounts may send a channel, and in which order.

Settings declare accounts (the default one, ``nusasms``, from the single-account
``NUSAWORKER_NUSASMS_*`` settings, plus ``NUSAWORKER_ACCOUNTS``) and routes
(``NUSAWORKER_ROUTES``: per channel, or per channel and priority, an ordered list of account
names). This module checks them against the provider registry and the channel table once, at
start — a route through an account whose provider cannot send that channel is a
:class:`~nusaworker.errors.ConfigurationError` then, not a failed message later — and answers
"which accounts, in which order" for a message. Which of them sends *now* (breakers, error
rate) is decided at send time by :mod:`nusaworker.failover`.

Pure: no Redis, no HTTP. Credentials stay :class:`~pydantic.SecretStr` until a client is built
(:func:`nusaworker.factories.account_client`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nusaworker.channels import CHANNELS
from nusaworker.channels import channel as channel_row
from nusaworker.errors import ConfigurationError
from nusaworker.providers.registry import provider_family
from nusaworker.settings import DEFAULT_ACCOUNT, AccountSettings, Settings
from nusaworker.types import PRIORITIES

__all__ = ["Account", "AccountTable", "route_key"]


@dataclass(frozen=True)
class Account:
    """One provider account, resolved: its provider family and its own rate rule."""

    name: str
    provider: str
    min_interval_ms: float
    # Holds the credentials: kept out of the repr (SecretStr masks them anyway).
    spec: AccountSettings = field(repr=False, compare=False)

    def can_send(self, channel: str) -> bool:
        """Whether this account's provider has a sender for ``channel``."""
        return self.provider in channel_row(channel).senders

    def lacks(self, channel: str) -> list[str]:
        """The credentials ``channel`` needs that this account does not have (names only)."""
        needed = provider_family(self.provider).needs.get(channel_row(channel).api, ())
        given = self.spec.credentials
        return [name for name in needed if not (name in given and given[name].get_secret_value())]


def route_key(channel: str, priority: str | None = None) -> str:
    """The ``NUSAWORKER_ROUTES`` key of a channel (and priority): ``"sms"``, ``"sms:otp"``."""
    return channel if priority is None else f"{channel}:{priority}"


class AccountTable:
    """The accounts and routes of one fleet, checked once."""

    def __init__(
        self,
        accounts: list[AccountSettings],
        routes: Mapping[str, list[str]],
        rules: Mapping[str, float] | None = None,
    ) -> None:
        """``rules``: per provider family, its rate rule in ms (else the family's own)."""
        self.accounts: dict[str, Account] = {}
        rules = rules or {}
        for spec in accounts:
            family = provider_family(spec.provider)
            unknown = sorted(set(spec.credentials) - set(family.credentials))
            if unknown:
                raise ConfigurationError(
                    f"account {spec.name!r}: provider {spec.provider!r} takes the credentials "
                    f"{list(family.credentials)}, not {unknown}"
                )
            interval = spec.min_interval_ms or rules.get(spec.provider) or family.min_interval_ms
            self.accounts[spec.name] = Account(spec.name, spec.provider, interval, spec)
        self.routes: dict[str, tuple[str, ...]] = {}
        for key, names in routes.items():
            channel, _, priority = key.partition(":")
            channel_row(channel)  # UnknownChannel (a ValueError) for a typo
            if priority and priority not in PRIORITIES:
                raise ConfigurationError(
                    f"route {key!r}: unknown priority {priority!r} (known: {list(PRIORITIES)})"
                )
            for name in names:
                if name not in self.accounts:
                    raise ConfigurationError(f"route {key!r} names unknown account {name!r}")
                if not self.accounts[name].can_send(channel):
                    raise ConfigurationError(
                        f"route {key!r}: account {name!r} ({self.accounts[name].provider}) "
                        f"cannot send {channel!r}"
                    )
                missing = self.accounts[name].lacks(channel)
                if missing:
                    raise ConfigurationError(
                        f"route {key!r}: account {name!r} has no {', '.join(missing)}, "
                        f"which {channel!r} needs"
                    )
            self.routes[key] = tuple(names)

    @classmethod
    def from_settings(cls, settings: Settings) -> AccountTable:
        """The table the settings declare (raises ConfigurationError for a bad one)."""
        for provider in settings.provider_min_interval_ms:
            provider_family(provider)  # a typo is a ConfigurationError now
        return cls(settings.all_accounts(), settings.routes, settings.provider_min_interval_ms)

    def route(self, channel: str, priority: str) -> tuple[str, ...]:
        """The accounts that send ``channel`` at ``priority``, in order of preference: the
        ``channel:priority`` route, else the ``channel`` route, else the default account."""
        for key in (route_key(channel, priority), route_key(channel)):
            if key in self.routes:
                return self.routes[key]
        return (DEFAULT_ACCOUNT,)

    def account(self, name: str) -> Account:
        """An account by name; ConfigurationError for one that is not declared (a record
        sent by an account since removed from the settings)."""
        try:
            return self.accounts[name]
        except KeyError:
            raise ConfigurationError(f"account {name!r} is not declared") from None

    def table(self) -> list[tuple[str, tuple[str, ...]]]:
        """Every (route key, accounts) in force, the default route of unnamed channels too."""
        rows = [(key, names) for key, names in sorted(self.routes.items())]
        named = {key.partition(":")[0] for key in self.routes}
        rows += [(name, (DEFAULT_ACCOUNT,)) for name in CHANNELS if name not in named]
        return rows
