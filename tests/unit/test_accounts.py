"""Accounts and routes from settings, and the failover choice: pure, no Redis."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from nusaworker.accounts import AccountTable
from nusaworker.channels import UnknownChannel
from nusaworker.errors import ConfigurationError
from nusaworker.failover import RouteBook, choose
from nusaworker.settings import AccountSettings, Settings

# The default account's credentials (a route through an account is checked for the ones its
# channel needs).
DEFAULT_CREDENTIALS = {
    "nusasms_api_key": "k1",
    "nusasms_sms_user": "u1",
    "nusasms_sms_password": "p1",
}


def settings(**fields: Any) -> Settings:
    return Settings(_env_file=None, **{**DEFAULT_CREDENTIALS, **fields})  # type: ignore[call-arg]


BACKUP = {
    "name": "backup",
    "credentials": {"api_key": "k2", "sms_user": "u2", "sms_password": "p2"},
}


def test_accounts_default_route_is_the_default_account() -> None:
    table = AccountTable.from_settings(settings())

    assert list(table.accounts) == ["nusasms"]
    assert table.route("sms", "otp") == ("nusasms",)
    assert table.account("nusasms").min_interval_ms == 50.0


def test_accounts_route_of_a_priority_beats_the_channel_route() -> None:
    table = AccountTable.from_settings(
        settings(
            accounts=[BACKUP],
            routes={"sms": ["nusasms", "backup"], "sms:otp": ["backup", "nusasms"]},
        )
    )

    assert table.route("sms", "otp") == ("backup", "nusasms")
    assert table.route("sms", "bulk") == ("nusasms", "backup")
    assert table.route("wa", "otp") == ("nusasms",)
    assert ("sms:otp", ("backup", "nusasms")) in table.table()
    assert ("wa", ("nusasms",)) in table.table()


def test_accounts_own_rule_and_the_family_rule() -> None:
    table = AccountTable.from_settings(
        settings(accounts=[{**BACKUP, "min_interval_ms": 200}, {"name": "third"}])
    )

    assert table.account("backup").min_interval_ms == 200
    assert table.account("third").min_interval_ms == 50.0  # the NusaSMS family's rule


def test_accounts_rule_per_provider_is_a_setting() -> None:
    table = AccountTable.from_settings(
        settings(
            accounts=[
                {"name": "wa2", "provider": "wachat"},
                {"name": "wa3", "provider": "wachat", "min_interval_ms": 30},
            ],
            provider_min_interval_ms={"wachat": 100},
        )
    )

    assert table.account("wa2").min_interval_ms == 100
    assert table.account("wa3").min_interval_ms == 30  # the account's own wins
    assert table.account("nusasms").min_interval_ms == 50.0
    with pytest.raises(ConfigurationError, match="unknown provider family"):
        AccountTable.from_settings(settings(provider_min_interval_ms={"nope": 10}))
    with pytest.raises(ValidationError, match="positive"):
        settings(provider_min_interval_ms={"wachat": 0})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"routes": {"sms": ["nope"]}}, "not declared"),
        ({"routes": {"sms": []}}, "names no account"),
        ({"routes": {"sms": ["nusasms", "nusasms"]}}, "twice"),
        ({"accounts": [{"name": "nusasms"}]}, "named twice"),
        ({"accounts": [{"name": "Bad Name"}]}, "pattern"),
        ({"accounts": [{"name": "x", "password": "p"}]}, "Extra inputs"),
    ],
)
def test_accounts_bad_settings_are_refused_at_load(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        settings(**fields)


def test_accounts_bad_table_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown provider family"):
        AccountTable.from_settings(settings(accounts=[{"name": "x", "provider": "nope"}]))
    with pytest.raises(ConfigurationError, match="takes the credentials"):
        AccountTable.from_settings(settings(accounts=[{"name": "x", "credentials": {"k": "v"}}]))
    with pytest.raises(ConfigurationError, match="unknown priority"):
        AccountTable.from_settings(settings(routes={"sms:urgent": ["nusasms"]}))
    with pytest.raises(UnknownChannel):
        AccountTable.from_settings(settings(routes={"fax": ["nusasms"]}))


def test_accounts_route_through_an_account_without_the_channel_credentials_is_refused() -> None:
    wa_only = {"name": "wa-only", "credentials": {"api_key": "k3"}}

    table = AccountTable.from_settings(settings(accounts=[wa_only], routes={"wa": ["wa-only"]}))
    assert table.route("wa", "normal") == ("wa-only",)
    with pytest.raises(ConfigurationError, match="has no sms_user, sms_password, which 'sms'"):
        AccountTable.from_settings(settings(accounts=[wa_only], routes={"sms": ["wa-only"]}))
    with pytest.raises(ConfigurationError, match="'nusasms' has no api_key"):
        AccountTable.from_settings(settings(nusasms_api_key="", routes={"wa": ["nusasms"]}))
    carrier = {"name": "carrier", "provider": "smartswitch", "credentials": {"login": "l"}}
    with pytest.raises(ConfigurationError, match="has no password"):
        AccountTable.from_settings(settings(accounts=[carrier], routes={"sms": ["carrier"]}))


def test_accounts_credentials_never_in_reprs() -> None:
    spec = AccountSettings(name="backup", credentials={"api_key": SecretStr("s3cr3t-key")})
    table = AccountTable([spec], {})

    assert "s3cr3t" not in repr(spec)
    assert "s3cr3t" not in repr(table.account("backup"))
    assert "s3cr3t" not in repr(
        settings(accounts=[{**BACKUP, "credentials": {"api_key": "s3cr3t"}}])
    )


ROUTE = ("a", "b", "c")


@pytest.mark.parametrize(
    ("paused", "degraded", "chosen", "held", "is_degraded"),
    [
        (set(), set(), "a", False, False),
        ({"a"}, set(), "b", False, False),
        (set(), {"a"}, "b", False, False),
        ({"a"}, {"b"}, "c", False, False),
        ({"a", "b", "c"}, set(), "a", True, False),
        (set(), {"a", "b", "c"}, "a", False, True),
        ({"a"}, {"b", "c"}, "b", False, True),
    ],
)
def test_failover_choose(
    paused: set[str], degraded: set[str], chosen: str, held: bool, is_degraded: bool
) -> None:
    choice = choose(ROUTE, paused=paused.__contains__, degraded=degraded.__contains__)

    assert (choice.account, choice.held, choice.degraded) == (chosen, held, is_degraded)


class Guard:
    def __init__(self, paused: set[str]) -> None:
        self.paused = paused

    def is_paused(self, channel: str) -> bool:
        return channel in self.paused


class Health:
    def __init__(self) -> None:
        self.bad: set[str] = set()
        self.errors: list[str] = []

    def degraded(self, account: str, channel: str) -> bool:
        return account in self.bad

    def error(self, account: str, channel: str) -> None:
        self.errors.append(f"{account}:{channel}")

    def sent(self, account: str, message_id: str) -> None:
        self.errors.append(f"sent:{account}:{message_id}")


def test_failover_route_book_picks_the_next_account_and_tends_back() -> None:
    table = AccountTable.from_settings(
        settings(accounts=[BACKUP], routes={"wa": ["nusasms", "backup"]})
    )
    guards = {"nusasms": Guard(set()), "backup": Guard(set())}
    health = Health()
    book = RouteBook(table, clients={"nusasms": "C1", "backup": "C2"}, guards=guards, health=health)  # type: ignore[arg-type]

    assert book.via("wa", "normal").account == "nusasms"
    guards["nusasms"].paused.add("wa")
    via = book.via("wa", "normal")
    assert (via.account, via.client, via.provider, via.held) == ("backup", "C2", "nusasms", False)
    assert book.via("sms", "normal").account == "nusasms"  # sms is not on the route
    assert book.via("wa", "normal", pinned="nusasms").account == "nusasms"  # in doubt: its own
    guards["nusasms"].paused.clear()
    assert book.via("wa", "normal").account == "nusasms"  # back to the primary
    health.bad.add("nusasms")
    assert book.via("wa", "normal").account == "backup"
    book.error("backup", "wa")
    book.error(None, "wa")
    assert health.errors == ["backup:wa"]


def test_failover_only_tracked_sends_count_towards_delivery_speed() -> None:
    table = AccountTable.from_settings(
        settings(
            accounts=[
                {
                    "name": "carrier",
                    "provider": "smartswitch",
                    "credentials": {"login": "l", "password": "p"},
                }
            ],
            routes={"sms": ["carrier", "nusasms"]},
        )
    )
    health = Health()
    book = RouteBook(table, clients={}, guards={}, health=health)  # type: ignore[arg-type]

    book.sent("nusasms", "m1", "wa")
    book.sent("nusasms", "m2", "sms_group")  # no delivery state ever comes
    book.sent("carrier", "m3", "sms")  # the carrier API never reports delivery
    book.sent(None, "m4", "wa")

    assert health.errors == ["sent:nusasms:m1"]


def test_failover_choose_asks_no_health_when_there_is_no_choice() -> None:
    asked: list[str] = []

    def degraded(name: str) -> bool:
        asked.append(name)
        return True

    assert choose(("only",), paused=lambda n: False, degraded=degraded).account == "only"
    assert choose(("a", "b"), paused={"a"}.__contains__, degraded=degraded).account == "b"
    assert asked == []
