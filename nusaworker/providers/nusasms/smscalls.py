"""How the client talks to SMS v3: sends (POST, login in the body) and commands (GET, login in
the query string, as documented), both through the client's transport.

Split from :mod:`.client` so that the client keeps one method per endpoint and this module the
two ways a login travels. The sends put ``user``/``password`` in a form body (the documents'
Python and PHP samples do so; their curl/Go/Ruby samples put them in the URL, which the
provider accepts too). The command API is documented only as a URL with the login in it
(``GET /api/command?user=…&password=…&cmd=…``), so it is sent that way, and :mod:`.query`
keeps that URL out of logs and errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, SecretStr

from nusaworker.errors import ConfigurationError

from ..errors import ProviderError
from ..gate import Priority
from ..transport import Kind, Transport
from .models.sms import read_sms_answer
from .query import path_with_query, redact_query, without_cause

__all__ = ["COMMAND_PATH", "SmsCalls"]

COMMAND_PATH = "/api/command"
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


class SmsCalls:
    """The SMS v3 login (user, password) and the two kinds of hit made with it."""

    def __init__(self, transport: Transport, user: str, password: SecretStr) -> None:
        self._transport = transport
        self._user = user
        self._password = password

    def __repr__(self) -> str:
        return "SmsCalls(…)"

    def _login(self) -> dict[str, str]:
        password = self._password.get_secret_value()
        if not self._user or not password:
            raise ConfigurationError("this call needs the NusaSMS sms_user and sms_password")
        return {"user": self._user, "password": password}

    def redact(self, text: str) -> str:
        """``text`` without the password (any encoding) or any credential of a query string."""
        return redact_query(self._transport.redact(text))

    def send(
        self, path: str, form: dict[str, str], kind: Kind, priority: Priority, model: type[M]
    ) -> M:
        """A POST with the login in the form body; the answer's first result as ``model``."""
        body = {**self._login(), **form}

        def parse(response: requests.Response) -> M:
            found = read_sms_answer(
                response.content,
                response.headers.get("Content-Type"),
                status_code=response.status_code,
                need_status=kind == "send",
            )
            return model.model_validate(found)

        return self._transport.hit(
            "POST",
            path,
            kind=kind,
            parse=parse,
            priority=priority,
            headers={"Accept": "application/json"},
            data=body,
        )

    def command(
        self,
        query: dict[str, str],
        priority: Priority,
        read: Callable[..., R],
        **read_options: Any,
    ) -> R:
        """``GET /api/command?user&password&…`` (a read); the answer is ``read(body, …)``.

        ``read`` gets the body, ``status_code``, ``redact`` and ``read_options``. The URL is
        never logged by us (the transport logs the path), urllib3's request lines are filtered
        (:mod:`.query`), and an error leaves without the ``requests`` exception that would
        quote the URL.
        """
        path = path_with_query(COMMAND_PATH, {**self._login(), **query})

        def parse(response: requests.Response) -> R:
            return read(
                response.content,
                status_code=response.status_code,
                redact=self.redact,
                **read_options,
            )

        try:
            return self._transport.hit(
                "GET",
                path,
                kind="read",
                parse=parse,
                priority=priority,
                headers={"Accept": "application/json"},
            )
        except ProviderError as exc:
            raise without_cause(exc) from None
