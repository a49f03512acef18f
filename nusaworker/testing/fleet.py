"""Start and stop real ``celery worker`` processes: for the demo, the benchmarks and the tests.

Each worker is a separate OS process started exactly as an operator would start one
(``celery -A nusaworker worker …``), configured only through ``NUSAWORKER_*`` variables.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nusaworker.errors import ConfigurationError

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WorkerProcess:
    """One running ``celery worker``; its log goes to a file (a pipe could fill and block it)."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise ConfigurationError(f"worker {self.name} did not start:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM killer would: nothing is acknowledged or cleaned up."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout: float = 15.0) -> None:
        """Warm shutdown (SIGTERM): finish running tasks, hand back the rest."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Fleet:
    """A set of worker processes sharing one environment."""

    env: Mapping[str, str]
    workers: list[WorkerProcess] = field(default_factory=list)
    logdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="nusaworker-fleet-")))

    def start(
        self, name: str, queues: str, *, concurrency: int = 4, extra_args: tuple[str, ...] = ()
    ) -> WorkerProcess:
        """Start one worker consuming ``queues`` (comma-separated) and wait until it is ready."""
        log_path = self.logdir / f"{name}.log"
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "nusaworker",
            "worker",
            "-Q",
            queues,
            "--pool",
            "threads",
            "-c",
            str(concurrency),
            "-n",
            f"{name}@%h",
            "-l",
            "info",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            *extra_args,
        ]
        env = {**os.environ, **self.env, "PYTHONPATH": str(REPO_ROOT)}
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen(
                cmd,
                cwd=REPO_ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() takes all its children
            )
        worker = WorkerProcess(name, proc, log_path)
        self.workers.append(worker)
        worker.wait_ready()
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.stop()
        if exc_type is None:  # keep the worker logs only when something went wrong
            shutil.rmtree(self.logdir, ignore_errors=True)


def fleet_env(
    *,
    redis_url: str,
    key_prefix: str,
    base_url: str,
    api_key: str = "test-key",
    sms_user: str = "user",
    sms_password: str = "pass",
    **extra: str,
) -> dict[str, str]:
    """The ``NUSAWORKER_*`` environment of a fleet pointed at ``base_url`` (e.g. the sandbox)."""
    env = {
        "NUSAWORKER_REDIS_URL": redis_url,
        "NUSAWORKER_KEY_PREFIX": key_prefix,
        "NUSAWORKER_NUSASMS_BASE_URL": base_url,
        "NUSAWORKER_NUSASMS_API_KEY": api_key,
        "NUSAWORKER_NUSASMS_SMS_USER": sms_user,
        "NUSAWORKER_NUSASMS_SMS_PASSWORD": sms_password,
    }
    env.update({f"NUSAWORKER_{k.upper()}": v for k, v in extra.items()})
    return env
