"""Where each SmsGateway24 call goes, relative to the base URL.

Seed 004 names only two methods, ``gettoken`` and ``addsms``, and says that the API lives
under ``{base}/getdata/…``. Every other path is a default taken from the provider's public
client samples, and a client option (``SmsGateway24Client(endpoints=Endpoints(status=…))``),
so a renamed method is a setting, not a code change.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["DOCUMENTED", "Endpoints"]


@dataclass(frozen=True)
class Endpoints:
    """The path of each call (each must start with ``/``)."""

    token: str = "/getdata/gettoken"  # documented
    send: str = "/getdata/addsms"  # documented (one message, optionally with an image)
    bulk: str = "/getdata/addalotofsms"  # default: the document shows only its ``datajson``
    status: str = "/getdata/getsmsstatus"  # default
    devices: str = "/getdata/getalldevices"  # default
    messages: str = "/getdata/getallsms"  # default

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not isinstance(value, str) or not value.startswith("/"):
                raise ValueError(f"endpoint {item.name!r} must be a path starting with '/'")

    def name_of(self, path: str) -> str:
        """The method name a path stands for (``/getdata/addsms`` → ``addsms``), for errors."""
        return path.rstrip("/").rsplit("/", 1)[-1] or path


# The two paths the document itself names.
DOCUMENTED = frozenset({"token", "send"})
