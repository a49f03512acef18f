"""Shared pieces of the JSON API (``/nusasms_api/1.0``): APIKey checks and body validation.

Validation answers mimic FastAPI on pydantic v1 (what the provider runs): a 422 with
``{"detail": [{"loc": ["body", field], "msg": ..., "type": ...}]}``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from ..accounts import Account
from ..wire import Invalid, Request, Response, error_envelope, problem

PHONE = re.compile(r"^\d{8,15}$")
GROUP = re.compile(r"^\d{6,20}-\d{4,20}$")
TRUE = {"true", "1", "yes", "on", "y", "t"}
FALSE = {"false", "0", "no", "off", "n", "f"}


def authenticate(req: Request) -> tuple[Account | None, Response | None]:
    """The request's account, or the 401/403 answer to give instead."""
    account = req.account
    if not req.header("apikey"):
        return None, error_envelope(401, "Missing APIKey header")
    if account is None or account.api_key != req.header("apikey"):
        return None, error_envelope(401, "Invalid API key")
    if account.revoked:
        return None, error_envelope(401, "API key has been revoked")
    if not account.ip_whitelisted:
        return None, error_envelope(
            403, "Your IP address is not registered in the IP whitelist of this account"
        )
    return account, None


class Fields:
    """Typed access to body fields that collects every problem before answering 422."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.problems: list[dict[str, Any]] = []

    def check(self) -> None:
        """Raise ``Invalid`` if any field had a problem."""
        if self.problems:
            raise Invalid(self.problems)

    def add(self, name: str, msg: str, type_: str = "value_error") -> None:
        """Record a problem with field ``name``."""
        self.problems.append(problem(name, msg, type_))

    def _present(self, name: str, required: bool) -> bool:
        if name not in self.data:
            if required:
                self.add(name, "field required", "value_error.missing")
            return False
        if self.data[name] is None:
            if required:
                self.add(name, "none is not an allowed value", "type_error.none.not_allowed")
            return False
        return True

    def text(self, name: str, *, required: bool = False) -> str | None:
        """A string field (numbers are coerced, as pydantic v1 does)."""
        if not self._present(name, required):
            return None
        value = self.data[name]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.add(name, "str type expected", "type_error.str")
            return None
        return str(value)

    def integer(self, name: str) -> int | None:
        """An optional integer field."""
        if not self._present(name, False):
            return None
        value = self.data[name]
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            self.add(name, "value is not a valid integer", "type_error.integer")
            return None

    def boolean(self, name: str) -> bool | None:
        """An optional boolean field (form values like ``true``/``1`` accepted)."""
        if not self._present(name, False):
            return None
        value = self.data[name]
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        self.add(name, "value could not be parsed to a boolean", "type_error.bool")
        return None

    def destination(self, name: str = "destination", *, groups: bool = True) -> str | None:
        """A phone number (8-15 digits) or, when ``groups``, a group id ``628123-1243456``."""
        value = self.text(name, required=True)
        if value is None:
            return None
        if PHONE.match(value) or (groups and GROUP.match(value)):
            return value
        self.add(name, "invalid destination: expected a phone number or a group id")
        return None

    def uuid4(self, name: str, *, required: bool = True) -> str | None:
        """A UUID version 4 string."""
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            parsed = None
        if parsed is None or parsed.version != 4 or str(parsed) != value.lower():
            self.add(name, "value is not a valid uuid4", "type_error.uuid")
            return None
        return value

    def url(self, name: str, *, required: bool = False) -> str | None:
        """An HTTP(S) URL."""
        value = self.text(name, required=required)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.add(name, "invalid or missing URL scheme", "value_error.url.scheme")
            return None
        return value
