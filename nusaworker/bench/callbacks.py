"""The callback receiver of a bench fleet: ``nusaworker callbacks`` in a process of its own.

As in production, the provider's pushes (delivery reports, phone-check results) reach a
receiver that is not the bench's own process: run in the bench process, it would share its
GIL with the sandbox, whose arrival stamps and answers are what the benches measure.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import requests

from nusaworker.testing.redis_server import free_port
from nusaworker.testing.waiting import wait_for

READY_TIMEOUT_S = 30.0


@contextlib.contextmanager
def callback_receiver(env: Mapping[str, str], logdir: Path, token: str) -> Iterator[str]:
    """``nusaworker callbacks`` on a free port with the fleet's ``env`` and ``token``; yields
    its URL (without the token) once it answers ``/healthz``, stops it on the way out."""
    port = free_port()
    code = "import sys; from nusaworker.cli import main; sys.exit(main(sys.argv[1:]))"
    args = [sys.executable, "-c", code, "callbacks", "--host", "127.0.0.1", "--port", str(port)]
    full_env = {**os.environ, **env, "NUSAWORKER_CALLBACK_TOKEN": token}
    with (logdir / "callbacks.log").open("wb") as log:
        proc = subprocess.Popen(args, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_for(lambda: _healthy(url), timeout=READY_TIMEOUT_S):
            raise RuntimeError(f"callback receiver did not start; see {logdir / 'callbacks.log'}")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).ok
    except requests.RequestException:
        return False
