"""SmartSwitch accounts in the sandbox: credentials and standing in ``Account.other``.

An account speaks SmartSwitch when ``account.other["smartswitch"]`` holds its ``login`` and
``password``; everything else there is filled in on first use (:func:`standing`) and, like
the rest of an account, restored by ``reset``:

``balance``            segments left (one per segment sent)
``fail_destinations``  numbers refused one by one (code ``rejected``), as a test asks
``ok_spelling``        ``"ok"`` (the examples) or ``"ок"`` (Cyrillic, the attribute table)
``seen``               request_id → the answer row it got (a repeated request_id is answered
                       from here: nothing is sent or charged twice)
``sent``               every message sent (no password, no login)
``received``           the request_ids of every request that reached the route, faulted or
                       not, in order (so a test can see that retries carry the same ids)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from ..accounts import Account
from ..state import SandboxState
from ..wire import Request

NAME = "smartswitch"
# The document's own samples use these literally (``?_login=LOGIN&_password=PASSWORD``).
DEFAULT_LOGIN = "LOGIN"
DEFAULT_PASSWORD = "PASSWORD"
DEFAULT_BALANCE = 1_000_000.0
OK_LATIN = "ok"
OK_CYRILLIC = "\u043e\u043a"  # "ок", as the document's attribute table writes it


def standing(account: Account | None) -> dict[str, Any] | None:
    """The SmartSwitch standing of ``account`` (defaults filled in), or ``None``."""
    if account is None:
        return None
    found = account.other.get(NAME)
    if not found or not found.get("login"):
        return None
    found.setdefault("password", "")
    found.setdefault("balance", DEFAULT_BALANCE)
    found.setdefault("fail_destinations", [])
    found.setdefault("ok_spelling", OK_LATIN)
    found.setdefault("seen", {})
    found.setdefault("sent", [])
    found.setdefault("received", [])
    return found


def params(req: Request) -> dict[str, list[str]]:
    """Every argument, repeated ones in order: the query string, then an urlencoded body."""
    pairs = parse_qsl(req.query_string, keep_blank_values=True)
    ctype = req.content_type
    if req.body and ctype in ("application/x-www-form-urlencoded", ""):
        pairs += parse_qsl(req.body.decode("utf-8", errors="replace"), keep_blank_values=True)
    found: dict[str, list[str]] = {}
    for name, value in pairs:
        found.setdefault(name, []).append(value)
    return found


def resolve(state: SandboxState, req: Request) -> Account | None:
    """The account whose SmartSwitch ``_login`` and ``_password`` the request carries.

    Also notes the request's ``request_id`` values in that account's ``received`` list: this
    runs for every request of the route, before faults are drawn.
    """
    given = params(req)
    login = (given.get("_login") or [""])[0]
    passwords = given.get("_password")
    if not login or not passwords:
        return None
    password = passwords[0]
    with state.lock:
        for account in state.accounts.values():
            found = standing(account)
            if found and found["login"] == login and found["password"] == password:
                found["received"].append(list(given.get("request_id", [])))
                return account
    return None
