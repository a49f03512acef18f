"""Request and answer values of the sandbox, body parsing and the provider's answer shapes.

Bodies come as JSON, ``application/x-www-form-urlencoded`` or ``multipart/form-data`` (the
documents' samples use all three); multipart is parsed with the ``email`` package since ``cgi``
is gone from the standard library.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

from .accounts import Account


class Invalid(Exception):
    """Raised when a request body fails validation; carries FastAPI-style ``detail`` items."""

    retryable = False

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        super().__init__("validation failed")
        self.detail = detail


def problem(field_name: str, msg: str, type_: str = "value_error") -> dict[str, Any]:
    """One FastAPI ``detail`` item about a body field."""
    return {"loc": ["body", field_name], "msg": msg, "type": type_}


@dataclass
class Request:
    """One parsed HTTP request (the body is read in full before dispatch)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    arrival: float  # time.monotonic() clock, see .arrival
    account: Account | None = None
    kernel_stamped: bool = False  # arrival is the kernel's receive time
    query_string: str = ""  # raw, for repeated parameters (``query`` keeps one value per name)

    def header(self, name: str) -> str | None:
        """A header value by case-insensitive name."""
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased (``""`` when absent)."""
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The body decoded as JSON; ``Invalid`` (422) when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Invalid(
                [{"loc": ["body", 0], "msg": str(exc), "type": "value_error.jsondecode"}]
            ) from None

    @cached_property
    def _form(self) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
        if self.content_type == "multipart/form-data":
            return parse_multipart(self.header("content-type") or "", self.body)
        if self.content_type in ("application/x-www-form-urlencoded", "") and self.body:
            text = self.body.decode("utf-8", errors="replace")
            return dict(parse_qsl(text, keep_blank_values=True)), {}
        return {}, {}

    def form(self) -> dict[str, str]:
        """Form fields of an urlencoded or multipart body (first value per name)."""
        return self._form[0]

    def files(self) -> dict[str, tuple[str, bytes]]:
        """Uploaded files of a multipart body: ``name -> (file name, content)``."""
        return self._form[1]

    def fields(self) -> dict[str, Any]:
        """Body fields for the JSON API: a JSON object, or form fields as strings."""
        ctype = self.content_type
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return dict(self.form())
        if ctype == "" and self.body and not self.body.lstrip().startswith((b"{", b"[")):
            return dict(self.form())
        data = self.json()
        if not isinstance(data, dict):
            raise Invalid([problem("__root__", "value is not a valid dict", "type_error.dict")])
        return data

    def sms_params(self) -> dict[str, str]:
        """SMS v3 parameters: query string merged with a form body; names lower-cased."""
        merged = {k.lower(): v for k, v in self.query.items()}
        merged.update({k.lower(): v for k, v in self.form().items()})
        return merged


def parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Split a ``multipart/form-data`` body into text fields and files."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files.setdefault(name, (filename, content))
        else:
            charset = part.get_content_charset() or "utf-8"
            fields.setdefault(name, content.decode(charset, errors="replace"))
    return fields, files


@dataclass
class Response:
    """An answer before it is written (faults may still replace or withhold it)."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    accepted: bool = False  # a send whose side effects happened
    ref_no: str | None = None  # what an accepted send created: ref_no (or SMS group campaign)
    # How the answer goes on the wire (garbage answers only, see .garbage): "length" (a
    # Content-Length), "overstated" (``declared_length`` promised, less sent, then closed),
    # "unframed" (no length: the body ends when the connection closes), "raw" (``body`` is the
    # whole answer, status line included) or "drip" (the body a byte at a time, slowly).
    framing: str = "length"
    declared_length: int | None = None


def json_response(
    status: int, data: Any, *, accepted: bool = False, ref_no: str | None = None
) -> Response:
    """A JSON answer."""
    return Response(status, json.dumps(data).encode(), accepted=accepted, ref_no=ref_no)


def envelope(status: int, message: str, data: Any, *, ref_no: str | None = None) -> Response:
    """The JSON API success envelope ``{"error": false, "message", "data"}``.

    ``ref_no`` marks the answer of an accepted send (its side effects happened).
    """
    body = {"error": False, "message": message, "data": data}
    return json_response(status, body, accepted=ref_no is not None, ref_no=ref_no)


def error_envelope(status: int, message: str) -> Response:
    """The JSON API error envelope ``{"error": true, "message", "data": null}``."""
    return json_response(status, {"error": True, "message": message, "data": None})


def unprocessable(detail: list[dict[str, Any]]) -> Response:
    """A 422 answer with a FastAPI ``detail`` list."""
    return json_response(422, {"detail": detail})


def html_error(status: int) -> Response:
    """An HTML error page, as a proxy in front of the provider would answer."""
    reasons = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    reason = reasons.get(status, "Error")
    page = (
        f"<html><head><title>{status} {reason}</title></head>"
        f"<body><center><h1>{status} {reason}</h1></center><hr><center>nginx</center>"
        "</body></html>"
    )
    return Response(status, page.encode(), content_type="text/html")
