"""WAChat accounts: an API key of its own, its gateways (senders) with their quotas, a Push URL.

WAChat's credential travels in the same ``APIKey`` header as NusaSMS's, but it is another
provider's key: it lives in ``Account.other["wachat"]`` and is looked up by :func:`resolve`
(the routes' ``resolve=`` hook), never by the shared NusaSMS lookup. So a WAChat key does not
authenticate on a NusaSMS path, nor a NusaSMS key on a WAChat path.

``Account.other["wachat"]``::

    {"api_key": str, "userid": str, "push_url": str | None,
     "senders": {sender: {"counter": int, "limit": int | None}}}

A sender is one gateway (a WhatsApp number): ``counter`` counts the messages it accepted,
``limit`` caps them (``None``: no limit). Reads and writes happen under ``state.lock``.
"""

from __future__ import annotations

from typing import Any

from ..accounts import Account
from ..state import SandboxState
from ..wire import Request, Response, error_envelope

PROVIDER = "wachat"
DEFAULT_ACCOUNT = "wachat"
DEFAULT_LIMIT = 1000
DEFAULT_SENDERS: dict[str, int | None] = {
    "6281200000001": DEFAULT_LIMIT,
    "6281200000002": DEFAULT_LIMIT,
}


def profile(account: Account) -> dict[str, Any] | None:
    """The WAChat part of an account, or ``None`` when it has no WAChat key."""
    found = account.other.get(PROVIDER)
    return found if isinstance(found, dict) and found.get("api_key") else None


def resolve(state: SandboxState, req: Request) -> Account | None:
    """The account whose WAChat key is the request's ``APIKey`` header (the route hook)."""
    key = req.header("apikey")
    if not key:
        return None
    with state.lock:
        for account in state.accounts.values():
            found = profile(account)
            if found is not None and found["api_key"] == key:
                return account
    return None


def authenticate(req: Request) -> tuple[Account | None, Response | None]:
    """The request's WAChat account, or the 403 to answer instead.

    403 is the refusal the document's Ruby samples handle (beside 400 and 422).
    """
    if not req.header("apikey"):
        return None, error_envelope(403, "Missing APIKey header")
    account = req.account
    if account is None or profile(account) is None:
        return None, error_envelope(403, "Invalid API key")
    if account.revoked:
        return None, error_envelope(403, "API key has been revoked")
    return account, None


def new_profile(
    api_key: str,
    *,
    senders: dict[str, int | None] | None = None,
    userid: str | None = None,
    push_url: str | None = None,
) -> dict[str, Any]:
    """A fresh WAChat part: every sender starts at counter 0."""
    chosen = DEFAULT_SENDERS if senders is None else senders
    return {
        "api_key": api_key,
        "userid": userid,
        "push_url": push_url,
        "senders": {
            str(name): {"counter": 0, "limit": None if limit is None else int(limit)}
            for name, limit in chosen.items()
        },
    }


def exhausted(gateway: dict[str, Any]) -> bool:
    """True when a gateway has used its whole limit."""
    limit = gateway.get("limit")
    return limit is not None and gateway["counter"] >= limit


def gateway_view(account: Account, sender: str, gateway: dict[str, Any]) -> dict[str, Any]:
    """The ``WAGateway`` shape: ``idClient``, ``name``, ``counter``, ``limit``."""
    return {
        "idClient": account.id_client,
        "name": sender,
        "counter": gateway["counter"],
        "limit": gateway["limit"],
    }
