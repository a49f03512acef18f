"""The provider families the product can talk to, by name: ``"nusasms"`` → its client.

    client = build_client(
        "nusasms",
        base_url="https://api.nusasms.com",
        credentials={"api_key": settings.nusasms_api_key},
        connect_timeout=5.0,
        read_timeout=30.0,
        gate=gate,
    )

:class:`~.family.ProviderFamily` says what a family needs; a family is listed once, here, in
:data:`PROVIDERS`: adding a provider is its subpackage plus one entry (see
:mod:`nusaworker.providers`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from nusaworker.errors import ConfigurationError

from . import nusasms, smartswitch, smsgateway24, wachat
from .family import ProviderClient, ProviderFamily

__all__ = ["PROVIDERS", "build_client", "provider_family"]

# One entry per provider family.
PROVIDERS: Mapping[str, ProviderFamily[Any]] = MappingProxyType(
    {
        family.name: family
        for family in (nusasms.FAMILY, wachat.FAMILY, smartswitch.FAMILY, smsgateway24.FAMILY)
    }
)


def provider_family(name: str) -> ProviderFamily[Any]:
    """The family called ``name``; :class:`~nusaworker.errors.ConfigurationError` if none is."""
    try:
        return PROVIDERS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown provider family {name!r}; known: {sorted(PROVIDERS)}"
        ) from None


def build_client(family: str, **kwargs: Any) -> ProviderClient:
    """A client of provider ``family``, built by :meth:`ProviderFamily.build` from ``kwargs``.

    For a client typed as its own class, build it from the family directly, e.g.
    ``nusasms.FAMILY.build(...)`` is a :class:`~nusaworker.providers.NusaSMSClient`.
    """
    client: ProviderClient = provider_family(family).build(**kwargs)
    return client
