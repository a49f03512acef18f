"""Steering the SmsGateway24 emulation: logins, token expiry, forced statuses, views.

The Python side is :class:`SmsGateway24Control` (``Sandbox.smsgateway24()``); the HTTP side is
``POST /_sandbox/smsgateway24`` with ``{"action": …}``:

=================== ==========================================================================
``login``           ``{"account", "email", "password"}``: set (or create) an account's login
``expire_tokens``   ``{"account"}``: every token handed out so far is expired from now on
``token_ttl``       ``{"account", "seconds"}``: how long tokens handed out from now on live
``set_status``      ``{"sms_id", "status", "title"}``: a message reports this status from now on
``device``          ``{"account", "device_id", "subscription", "delay_between_sms"}``: a phone
``messages``        ``{"account"}``: the account's messages with their current status
=================== ==========================================================================
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..accounts import Account
from ..router import Ctx
from ..state import SandboxState
from ..wire import Request, Response, json_response
from . import store

__all__ = ["SmsGateway24Control", "handle_control"]


class SmsGateway24Control:
    """The SmsGateway24 part of a sandbox, for tests (every method is thread-safe)."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    def _account(self, name: str) -> Account:
        return self._state.account(name)  # KeyError for an unknown account

    def set_login(self, account: str = "main", *, email: str, password: str) -> None:
        """Give ``account`` (created when unknown) this SmsGateway24 e-mail and password."""
        with self._state.lock:
            if account not in self._state.accounts:
                self._state.add_account(Account(name=account, api_key=None))
            target = self._account(account)
            data = store.section(target)
            data["email"], data["password"] = email, password

    def expire_tokens(self, account: str = "main") -> int:
        """Expire every token of ``account`` now; returns how many there were."""
        with self._state.lock:
            return store.expire_tokens(self._account(account))

    def set_token_ttl(self, seconds: float, account: str = "main") -> None:
        """How long tokens handed to ``account`` from now on stay valid."""
        with self._state.lock:
            store.section(self._account(account))["token_ttl_s"] = float(seconds)

    def tokens(self, account: str = "main") -> list[str]:
        """The tokens handed to ``account`` (a test may look for them where they must not be)."""
        with self._state.lock:
            return list(store.section(self._account(account))["tokens"])

    def tokens_issued(self, account: str = "main") -> int:
        """How many tokens ``account`` was handed since the start (or the last reset)."""
        with self._state.lock:
            return len(store.section(self._account(account))["tokens"])

    def set_status(self, sms_id: int, status: int, title: str) -> None:
        """Make a message report ``status``/``title`` from now on (any code, known or not)."""
        with self._state.lock:
            found = store.find_message(self._state, int(sms_id))
            if found is None:
                raise KeyError(sms_id)
            found[1]["forced"] = [int(status), str(title)]

    def set_device(
        self,
        device_id: int,
        *,
        account: str = "main",
        subscription: bool | None = None,
        delay_between_sms: float | None = None,
    ) -> None:
        """Let a phone's subscription lapse (sends to it are refused) or come back; change
        its own pace (seconds between two of its messages)."""
        with self._state.lock:
            phone = store.find_device(self._account(account), int(device_id))
            if phone is None:
                raise KeyError(device_id)
            if subscription is not None:
                phone["subscription"] = bool(subscription)
            if delay_between_sms is not None:
                phone["delaybetweeneachsms"] = float(delay_between_sms)

    def devices(self, account: str = "main") -> list[dict[str, Any]]:
        """The account's phones (copies)."""
        with self._state.lock:
            return json.loads(json.dumps(store.section(self._account(account))["devices"]))

    def messages(self, account: str = "main") -> list[dict[str, Any]]:
        """The account's messages, oldest first, each with its current ``status``/``title``."""
        now = time.monotonic()
        with self._state.lock:
            records = store.section(self._account(account))["messages"].values()
            views = []
            for record in records:
                code, title = store.status_of(record, now)
                view = {k: v for k, v in record.items() if k not in ("created", "turn")}
                views.append({**view, "status": code, "title": title})
            return json.loads(json.dumps(views))


def handle_control(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``POST /_sandbox/smsgateway24``: one action (see the module docstring)."""
    try:
        body = json.loads(req.body or b"{}")
    except ValueError:
        return json_response(400, {"error": "body is not JSON"})
    if not isinstance(body, dict):
        return json_response(400, {"error": "body must be a JSON object"})
    control = SmsGateway24Control(ctx.state)
    account = str(body.get("account", "main"))
    action = body.get("action")
    try:
        if action == "login":
            control.set_login(account, email=str(body["email"]), password=str(body["password"]))
            result: Any = {"account": account}
        elif action == "expire_tokens":
            result = {"expired": control.expire_tokens(account)}
        elif action == "token_ttl":
            control.set_token_ttl(float(body["seconds"]), account)
            result = {"seconds": float(body["seconds"])}
        elif action == "set_status":
            control.set_status(int(body["sms_id"]), int(body["status"]), str(body["title"]))
            result = {"sms_id": int(body["sms_id"])}
        elif action == "device":
            control.set_device(
                int(body["device_id"]),
                account=account,
                subscription=body.get("subscription"),
                delay_between_sms=body.get("delay_between_sms"),
            )
            result = {"device_id": int(body["device_id"])}
        elif action == "messages":
            result = {"messages": control.messages(account)}
        else:
            return json_response(400, {"error": f"unknown action {action!r}"})
    except KeyError as exc:
        return json_response(404, {"error": f"not found: {exc.args[0]}"})
    except (TypeError, ValueError) as exc:
        return json_response(400, {"error": str(exc)})
    return json_response(200, result)
