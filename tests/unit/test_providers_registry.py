"""The provider registry: families by name, and how a family builds its client."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from pydantic import SecretStr

from nusaworker.channels import CHANNELS
from nusaworker.errors import ConfigurationError
from nusaworker.providers import (
    PROVIDERS,
    NoopGate,
    NusaSMSClient,
    ProviderFamily,
    account_fingerprint,
    build_client,
    nusasms,
    provider_family,
)

COMMON = ("base_url", "gate", "account", "connect_timeout", "read_timeout")
KEY = "KEY-do-not-leak-51b2"


class FakeClient:
    """A client class that only records what it was built with."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.account = str(kwargs.get("account", "fake:derived"))

    @property
    def base_url(self) -> str:
        return str(self.kwargs["base_url"])

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


FAKE = ProviderFamily(
    "fake", FakeClient, credentials=("token",), default_base_url="https://fake.example"
)


def test_registry_lists_nusasms_family() -> None:
    family = PROVIDERS["nusasms"]
    assert family is nusasms.FAMILY
    assert family.name == "nusasms"
    assert family.client is NusaSMSClient
    assert family.default_base_url == "https://api.nusasms.com"
    assert provider_family("nusasms") is family


def test_registry_names_match_their_families() -> None:
    assert all(name == family.name for name, family in PROVIDERS.items())


def test_registry_knows_every_channel_provider() -> None:
    for name, row in CHANNELS.items():
        assert row.provider in PROVIDERS, f"channel {name}: no provider family {row.provider!r}"


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_registry_family_client_takes_common_and_credential_keywords(name: str) -> None:
    family = PROVIDERS[name]
    parameters = inspect.signature(family.client).parameters
    for keyword in (*COMMON, *family.credentials):
        assert keyword in parameters, f"{name}: client lacks keyword {keyword!r}"
        assert parameters[keyword].kind is inspect.Parameter.KEYWORD_ONLY


def test_provider_family_unknown_name_is_configuration_error() -> None:
    with pytest.raises(
        ConfigurationError, match=r"unknown provider family 'no-such-family'.*nusasms"
    ):
        provider_family("no-such-family")


def test_family_build_passes_given_arguments_and_leaves_none_to_the_client() -> None:
    gate = NoopGate()
    client = FAKE.build(credentials={"token": "t"}, gate=gate, read_timeout=3.0, max_attempts=2)
    assert client.kwargs == {
        "base_url": "https://fake.example",
        "token": "t",
        "gate": gate,
        "read_timeout": 3.0,
        "max_attempts": 2,
    }
    assert FAKE.build(base_url="http://127.0.0.1:1").base_url == "http://127.0.0.1:1"


def test_family_build_refuses_unknown_credential_without_its_value() -> None:
    with pytest.raises(ConfigurationError) as caught:
        FAKE.build(credentials={"tokn": "secret-value-9"})
    assert "tokn" in str(caught.value)
    assert "secret-value-9" not in str(caught.value)


def test_build_client_nusasms_from_settings_like_arguments() -> None:
    client = build_client(
        "nusasms",
        base_url="http://127.0.0.1:9",
        credentials={"api_key": SecretStr(KEY), "sms_user": "user", "sms_password": None},
        connect_timeout=1.0,
        read_timeout=2.0,
    )
    with client:
        assert isinstance(client, NusaSMSClient)
        assert client.base_url == "http://127.0.0.1:9"
        assert client.account == account_fingerprint(KEY)
        assert client.account.startswith("nusasms:")
        assert KEY not in repr(client)


def test_build_client_account_overrides_fingerprint() -> None:
    with nusasms.FAMILY.build(credentials={"api_key": KEY}, account="nusasms:shared") as client:
        assert client.account == "nusasms:shared"
        assert client.base_url == nusasms.DEFAULT_BASE_URL
