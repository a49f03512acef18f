"""Sandbox accounts: one per API key, reachable by its APIKey and by its SMS user/password.

Both credential forms of an account are the same account: they share one rate clock and one
hit counter, as the provider counts them (and as the client paces them).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

DEV_API_KEY = "DEV_TESTING_API_KEY"  # the documented key of the provider's test host
UNKNOWN_ACCOUNT = "?"  # hits whose credentials match no account
VALID_UNTIL = "2027-12-31"  # balance expiry date of an account in good standing
EXPIRED_ON = "2020-01-01"  # balance expiry date shown once an account is set expired
SMSGATEWAY24_EMAIL = "user@example.com"  # the SmsGateway24 login of account "main"
SMSGATEWAY24_PASSWORD = "pass"


@dataclass
class Account:
    """One provider account and its mutable standing (balances, flags)."""

    name: str
    api_key: str | None
    sms_user: str | None = None
    sms_password: str | None = None
    wa_balance: float = 1_000_000.0
    sms_balance: float = 1_000_000.0
    revoked: bool = False
    ip_whitelisted: bool = True
    expired: bool = False
    id_person: int = 1001
    id_client: int = 501
    # Other providers' credentials and standing, by provider (e.g. ``{"carrier": {...}}``): each
    # emulated provider keeps what it needs under its own name; ``copy`` copies it deeply.
    other: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        # Credentials stay out of reprs (they end up in test failure output and logs).
        return f"Account(name={self.name!r}, wa={self.wa_balance}, sms={self.sms_balance})"

    @property
    def expired_date(self) -> str:
        """The balance expiry date the API reports."""
        return EXPIRED_ON if self.expired else VALID_UNTIL

    def copy(self) -> Account:
        """An independent copy (used to remember start values for ``reset``)."""
        return copy.deepcopy(self)

    def public_view(self) -> dict[str, Any]:
        """Control-surface view without credentials."""
        return {
            "account": self.name,
            "wa_balance": self.wa_balance,
            "sms_balance": self.sms_balance,
            "revoked": self.revoked,
            "ip_whitelisted": self.ip_whitelisted,
            "expired": self.expired,
        }


def default_accounts(
    *,
    api_key: str,
    sms_user: str | None,
    sms_password: str | None,
    wa_balance: float,
    sms_balance: float,
) -> list[Account]:
    """The configured account ``main`` plus the documented test account ``dev``."""
    return [
        Account(
            name="main",
            api_key=api_key,
            sms_user=sms_user,
            sms_password=sms_password,
            wa_balance=float(wa_balance),
            sms_balance=float(sms_balance),
            other={
                # SmartSwitch (seed 003) as its samples log in: ?_login=LOGIN&_password=PASSWORD.
                "smartswitch": {"login": "LOGIN", "password": "PASSWORD"},
                "smsgateway24": {"email": SMSGATEWAY24_EMAIL, "password": SMSGATEWAY24_PASSWORD},
            },
        ),
        Account(
            name="dev",
            api_key=DEV_API_KEY,
            wa_balance=1_000_000.0,
            sms_balance=1_000_000.0,
            id_person=1,
            id_client=1,
        ),
    ]
