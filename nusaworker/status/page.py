"""The status page's HTML: one Jinja template (autoescaped: campaign names and error texts
come from users and providers) and a few lines of script that refresh it.

The script fetches the page again every :data:`REFRESH_S` seconds and swaps its ``<main>`` for
the new one, so one server-side template renders both the first view and every update (no
second renderer in JavaScript to keep in step); when a fetch fails it says so instead of
showing old figures as if they were new. Without JavaScript a ``<meta refresh>`` does it.
Nothing is loaded from elsewhere: the page works on a machine without internet access.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Any

import jinja2

__all__ = ["CONTENT_SECURITY_POLICY", "REFRESH_S", "render"]

REFRESH_S = 2

SCRIPT = """
(function () {
  var every = EVERY_MS;
  function tick() {
    fetch(location.href, {cache: "no-store", credentials: "same-origin"})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html").querySelector("main");
        document.querySelector("main").replaceWith(fresh);
        var body = document.body;
        body.dataset.refreshes = String(Number(body.dataset.refreshes) + 1);
        document.getElementById("stale").hidden = true;
      })
      .catch(function () { document.getElementById("stale").hidden = false; })
      .finally(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
""".replace("EVERY_MS", str(REFRESH_S * 1000))

# Only this one inline script may run, the page may fetch only itself, and nothing may frame
# it or be loaded from anywhere else.
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; script-src 'sha256-{_SCRIPT_HASH}'; style-src 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def _utc(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("nusaworker.status", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["utc"] = _utc


def render(status: dict[str, Any], priorities: list[str]) -> str:
    """The page for ``status`` (what :meth:`.board.StatusBoard.read` returns); ``priorities``
    names the queues' priority sub-lists, in order."""
    return _ENV.get_template("status.html").render(
        s=status, priorities=priorities, script=SCRIPT, refresh_s=REFRESH_S
    )
