"""Start and stop real ``celery -A nusaworker beat`` processes (benchmarks, tests, demo).

Each beat is started exactly as an operator starts one — no flags but the log level — and is
configured only through ``NUSAWORKER_*`` variables (see :func:`nusaworker.testing.fleet.fleet_env`).
With celery-redbeat one beat at a time holds the lock and runs the schedule; the others wait.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nusaworker.errors import ConfigurationError
from nusaworker.testing.fleet import REPO_ROOT

ACQUIRED = "beat: Acquired lock"


@dataclass
class BeatProcess:
    """One running ``celery beat``; its log goes to a file."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(cls, env: Mapping[str, str], logdir: Path, name: str = "beat") -> BeatProcess:
        """Start a beat with ``env`` (``NUSAWORKER_*``); returns once the process runs."""
        log_path = logdir / f"{name}.log"
        cmd = [sys.executable, "-m", "celery", "-A", "nusaworker", "beat", "-l", "info"]
        full_env = {**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)}
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen(
                cmd,
                cwd=logdir,  # celery beat may write files in its working directory; not ours
                env=full_env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(name, proc, log_path)

    def log(self) -> str:
        """Everything the process wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def active(self) -> bool:
        """Whether this beat holds the redbeat lock (runs the schedule)."""
        return ACQUIRED in self.log()

    def wait_active(self, timeout: float = 30.0) -> bool:
        """Wait until this beat holds the lock; ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.active:
                return True
            if self.proc.poll() is not None:
                raise ConfigurationError(f"beat {self.name} exited:\n{self.log()[-3000:]}")
            time.sleep(0.1)
        return False

    def kill(self) -> None:
        """SIGKILL: a crash, the lock is not released (the standby waits for its timeout)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (releases the lock), then SIGKILL if it does not exit in time."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
