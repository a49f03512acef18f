"""The SmartSwitch emulation: a carrier's "HTTP API message" (JSON:API), as seed 003 has it.

Modules: ``message`` (the endpoint), ``standing`` (accounts by ``_login``/``_password``, kept
in ``Account.other["smartswitch"]``, and the route's account resolver), ``control`` (the
``/_sandbox/smartswitch`` knobs: balance, destinations to fail, the ``ok`` spelling). The
document states no rate rule for this API, so its hits are logged but not judged by the gap
rule (``paced=False``). :data:`ROUTES` is what the server registers.
"""

from __future__ import annotations

from ..router import Route, route
from . import message
from .standing import resolve

__all__ = ["PATH", "ROUTES"]

PATH = "/api/message"
ROUTES: tuple[Route, ...] = (
    route("POST", PATH, message.send, "send", resolve=resolve, paced=False),
)
