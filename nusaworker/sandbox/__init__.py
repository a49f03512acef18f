"""A faithful emulator of the NusaSMS provider APIs, for tests, the demo and the benchmarks.

It stands in for the real provider, so it imports nothing from the rest of ``nusaworker``
(standard library only)::

    from nusaworker.sandbox import Sandbox, FaultProfile

    with Sandbox(port=0, min_interval_ms=50, faults=FaultProfile(p_5xx=0.1)) as box:
        requests.get(f"{box.url}/nusasms_api/1.0/balance", headers={"APIKey": "test-key"})
        box.stats()["accounts"]["main"]["violations"]

One subpackage per emulated provider, beside the shared machinery: ``nusasms/`` (the JSON API
v1.0, WhatsApp Official and SMS v3 endpoints, and the :data:`ROUTES` the server registers).
Shared: ``box`` (the :class:`Sandbox`), ``server`` (HTTP, the registered routes, faults),
``router``, ``wire`` (request parsing, answer shapes), ``control`` (``/_sandbox/``),
``state`` / ``accounts`` / ``messages`` / ``hits`` (what it knows), ``arrival``
(kernel-stamped hit times), ``callbacks`` / ``ticker`` (pushes), ``faults``, ``cli``.
A new emulated provider is a new subpackage exporting its ``ROUTES`` plus one entry in
``server.PROVIDER``.
"""

from .box import Sandbox
from .faults import FaultProfile

__all__ = ["FaultProfile", "Sandbox"]
