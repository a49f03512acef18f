"""The sandbox's SmartSwitch knobs: ``/_sandbox/smartswitch`` and ``Sandbox.smartswitch()``.

``GET  /_sandbox/smartswitch?account=main``   the account's standing (never its credentials)
``POST /_sandbox/smartswitch``                 ``{"account", "login", "password", "balance",
                                               "fail_destinations", "ok_spelling"}``; with
                                               ``login`` and ``password`` an unknown account
                                               is created
"""

from __future__ import annotations

import json
from typing import Any

from ..accounts import Account
from ..router import Ctx
from ..wire import Request, Response, json_response
from .standing import NAME, OK_CYRILLIC, OK_LATIN, standing

SPELLINGS = {"ok": OK_LATIN, "latin": OK_LATIN, OK_CYRILLIC: OK_CYRILLIC, "cyrillic": OK_CYRILLIC}


def view(account: Account) -> dict[str, Any]:
    """An account's SmartSwitch standing without its login or password."""
    found = standing(account)
    if found is None:
        return {"account": account.name, "configured": False}
    return {
        "account": account.name,
        "configured": True,
        "balance": found["balance"],
        "fail_destinations": list(found["fail_destinations"]),
        "ok_spelling": found["ok_spelling"],
        "request_ids_seen": len(found["seen"]),
        "sent": [dict(m) for m in found["sent"]],
        "received": [list(ids) for ids in found["received"]],
    }


def configure(
    ctx: Ctx,
    name: str = "main",
    *,
    login: str | None = None,
    password: str | None = None,
    balance: float | None = None,
    fail_destinations: list[str] | None = None,
    ok_spelling: str | None = None,
) -> dict[str, Any]:
    """Change (or create, given ``login`` and ``password``) an account's SmartSwitch standing.

    Given with credentials, every value becomes a start value too (``reset`` restores it);
    otherwise a change lasts until ``reset``. ``KeyError`` for an unknown account without
    credentials, ``ValueError`` for a bad value.
    """
    if ok_spelling is not None and ok_spelling not in SPELLINGS:
        raise ValueError("ok_spelling must be 'ok' or 'latin', or the Cyrillic 'ok' or 'cyrillic'")
    state = ctx.state
    rekey = login is not None or password is not None
    with state.lock:
        if name in state.accounts:
            account = state.account(name)
        elif login and password is not None:
            account = Account(name=name, api_key=None)
        else:
            raise KeyError(name)
        if rekey:
            entry = account.other.setdefault(NAME, {})
            entry.update({k: v for k, v in (("login", login), ("password", password)) if v})
        found = standing(account)
        if found is None:
            raise KeyError(name)
        if balance is not None:
            found["balance"] = float(balance)
        if fail_destinations is not None:
            found["fail_destinations"] = [str(n).removeprefix("+") for n in fail_destinations]
        if ok_spelling is not None:
            found["ok_spelling"] = SPELLINGS[ok_spelling]
        if rekey:
            state.add_account(account)
        return view(account)


def handle(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``GET|POST /_sandbox/smartswitch``."""
    if req.method == "GET":
        name = req.query.get("account", "main")
        with ctx.state.lock:
            return json_response(200, view(ctx.state.account(name)))
    body: dict[str, Any] = json.loads(req.body or b"{}")
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    name = str(body.pop("account", "main"))
    return json_response(200, configure(ctx, name, **body))
