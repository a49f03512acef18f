"""The balances a campaign's pre-flight reads, over real HTTP to the sandbox and a real Redis:
live through the pacing gate, the account a route names, and the last watch's snapshot when the
provider cannot be read."""

from __future__ import annotations

from typing import Any

import pytest

from nusaworker.credit.balance import BalanceSnapshot
from nusaworker.credit.commands import RouteWallets, _fingerprint, wallet_balances
from nusaworker.keys import Keys
from nusaworker.settings import Settings

pytestmark = pytest.mark.integration


def settings_for(redis_url: str, prefix: str, box: Any, **fields: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        redis_url=redis_url,
        key_prefix=prefix,
        nusasms_base_url=box.url,
        nusasms_api_key="test-key",
        nusasms_sms_user="user",
        nusasms_sms_password="pass",
        **fields,
    )


def test_wallet_balances_are_read_live_from_the_provider(
    redis_url: str, key_prefix: str, sandbox: Any
) -> None:
    sandbox.set_balance(wa=123.0, sms=45.0)
    settings = settings_for(redis_url, key_prefix, sandbox)

    assert wallet_balances(settings) == {"wa": 123.0, "sms": 45.0}


def test_route_wallets_read_the_account_the_route_names(
    redis_url: str, key_prefix: str, sandbox: Any
) -> None:
    sandbox.add_account(
        "backup", api_key="backup-key", sms_user="buser", sms_password="bpass", wa_balance=7.0
    )
    backup = {
        "name": "backup",
        "base_url": sandbox.url,
        "credentials": {"api_key": "backup-key", "sms_user": "buser", "sms_password": "bpass"},
    }
    settings = settings_for(
        redis_url, key_prefix, sandbox, accounts=[backup], routes={"wa:bulk": ["backup"]}
    )

    wallets = RouteWallets(settings)
    assert wallets.get("wa") == 7.0  # backup's wallet, not the default account's million
    assert wallets.get("sms") == 1_000_000.0  # sms has no route: the default account


def test_wallet_balances_fall_back_to_the_last_watch_then_to_unknown(
    redis_url: str, redis_client: Any, key_prefix: str, sandbox: Any
) -> None:
    settings = settings_for(redis_url, key_prefix, sandbox)
    sandbox.set_account(revoked=True)  # every call of the account refused: nothing live

    assert wallet_balances(settings) == {"wa": None, "sms": None}

    account = _fingerprint(settings, None)
    watched = BalanceSnapshot(account, 0.0, balances={"wa": 9.0, "sms": 4.0, "sms_credits": 5.0})
    redis_client.set(Keys(prefix=key_prefix).balance(account), watched.to_json())
    assert wallet_balances(settings) == {"wa": 9.0, "sms": 5.0}
