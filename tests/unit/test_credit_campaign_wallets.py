"""The wallets a campaign's pre-flight reads: which balance stands for which wallet, and whose
(the first account of each channel's bulk route), read once per account and only when asked.
Pure: the reading itself (:func:`wallet_balances`, live or the last watch) is replaced."""

from __future__ import annotations

from typing import Any

import pytest

from nusaworker.credit import commands
from nusaworker.credit.balance import BalanceSnapshot
from nusaworker.credit.commands import RouteWallets, campaign_wallets
from nusaworker.errors import NusaWorkerError
from nusaworker.settings import Settings

CREDENTIALS = {"nusasms_api_key": "k1", "nusasms_sms_user": "u1", "nusasms_sms_password": "p1"}
BACKUP = {
    "name": "backup",
    "credentials": {"api_key": "k2", "sms_user": "u2", "sms_password": "p2"},
}


def settings(**fields: Any) -> Settings:
    return Settings(_env_file=None, **{**CREDENTIALS, **fields})  # type: ignore[call-arg]


def snapshot(**balances: float) -> BalanceSnapshot:
    return BalanceSnapshot(account="nusasms:x", at=0.0, balances=balances)


def test_campaign_wallets_sms_is_the_credits_the_sms_credentials_spend() -> None:
    both = campaign_wallets(snapshot(wa=120.0, sms=50.0, sms_credits=75.0, hlr=3.0))
    assert both == {"wa": 120.0, "sms": 75.0}
    assert campaign_wallets(snapshot(wa=1.0, sms=50.0)) == {"wa": 1.0, "sms": 50.0}
    assert campaign_wallets(snapshot(wachat_quota=900.0)) == {"wa": 900.0, "sms": None}
    assert campaign_wallets(None) == {"wa": None, "sms": None}


def test_route_wallets_reads_the_first_bulk_account_of_each_route_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str | None] = []

    def read(_: Settings, account: str | None = None) -> dict[str, float | None]:
        asked.append(account)
        return {"wa": 10.0, "sms": 20.0} if account is None else {"wa": 30.0, "sms": 40.0}

    monkeypatch.setattr(commands, "wallet_balances", read)
    wallets = RouteWallets(
        settings(accounts=[BACKUP], routes={"sms:bulk": ["backup", "nusasms"], "sms": ["nusasms"]})
    )
    assert asked == []  # nothing read until a wallet is asked for
    assert wallets.get("sms") == 40.0  # the bulk route's first account: backup
    assert wallets.get("wa") == 10.0  # wa has no route: the default account (None)
    assert (wallets["sms"], wallets["wa"]) == (40.0, 10.0)
    assert asked == ["backup", None]  # once per account
    assert wallets.get("hlr") is None and dict(wallets) == {"wa": 10.0, "sms": 40.0}


def test_route_wallets_unreadable_is_unknown_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def down(_: Settings, account: str | None = None) -> dict[str, float | None]:
        raise NusaWorkerError("redis down")

    monkeypatch.setattr(commands, "wallet_balances", down)
    assert dict(RouteWallets(settings())) == {"wa": None, "sms": None}
