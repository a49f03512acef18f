"""Start and stop real ``celery worker`` and ``celery beat`` processes: demo, benchmarks, tests.

Each worker is a separate OS process started exactly as an operator would start one
(``celery -A nusaworker worker …``), configured only through ``NUSAWORKER_*`` variables.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import redis

from nusaworker.errors import ConfigurationError
from nusaworker.testing.waiting import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]


ACQUIRED = "beat: Acquired lock"


@dataclass
class CeleryProcess:
    """One running ``celery`` process; its log goes to a file (a pipe could fill and block it)."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def spawn(
        cls, name: str, args: list[str], env: Mapping[str, str], logdir: Path, cwd: Path
    ) -> Self:
        """Run ``python -m celery -A nusaworker <args>`` with ``env`` (``NUSAWORKER_*``)."""
        log_path = logdir / f"{name}.log"
        cmd = [sys.executable, "-m", "celery", "-A", "nusaworker", *args]
        full_env = {**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)}
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen(
                cmd,
                cwd=cwd,
                env=full_env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() takes all its children
            )
        return cls(name, proc, log_path)

    def log(self) -> str:
        """Everything the process wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM killer would: nothing is acknowledged or released."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (a worker finishes running tasks, a beat releases its lock), then SIGKILL."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def _wait_for(self, marker: str, timeout: float) -> bool:
        """Wait until ``marker`` is in the log; ``False`` on timeout, an error if it exited."""

        def logged() -> bool:
            if marker in self.log():
                return True
            if self.proc.poll() is not None:
                raise ConfigurationError(f"{self.name} exited:\n{self.log()[-3000:]}")
            return False

        return wait_for(logged, timeout)


class WorkerProcess(CeleryProcess):
    """One running ``celery worker``."""

    def wait_ready(self, timeout: float = 30.0) -> None:
        if not self._wait_for(" ready.", timeout):
            raise ConfigurationError(f"worker {self.name} did not start:\n{self.log()[-3000:]}")


class BeatProcess(CeleryProcess):
    """One running ``celery beat``, started as an operator starts one: no flags but the log
    level. With celery-redbeat one beat at a time holds the lock and runs the schedule."""

    @classmethod
    def start(cls, env: Mapping[str, str], logdir: Path, name: str = "beat") -> BeatProcess:
        """Start a beat with ``env``; returns once the process runs."""
        # cwd: celery beat may write files in its working directory; not ours.
        return cls.spawn(name, ["beat", "-l", "info"], env, logdir, cwd=logdir)

    @property
    def active(self) -> bool:
        """Whether this beat holds the redbeat lock (runs the schedule)."""
        return ACQUIRED in self.log()

    def wait_active(self, timeout: float = 30.0) -> bool:
        """Wait until this beat holds the lock; ``False`` on timeout."""
        return self._wait_for(ACQUIRED, timeout)


# Kombu's Redis transport keeps each queue in a list named after it, one more list per priority
# step (``<queue><sep><step>``), and every delivered, not yet acknowledged message in one hash.
UNACKED_KEY = "unacked"
# How long a fleet must look idle to count as drained (see Fleet.drain).
QUIET_S = 0.3


def _queue_lists(queues: set[str]) -> re.Pattern[str]:
    """Matches the broker's list names of ``queues``: ``wa``, ``wa:3`` … but not ``wa_official``."""
    names = "|".join(re.escape(q) for q in sorted(queues))
    return re.compile(rf"(?:{names})(?:\W+\d+)?")


@dataclass
class Fleet:
    """A set of worker processes sharing one environment."""

    env: Mapping[str, str]
    workers: list[WorkerProcess] = field(default_factory=list)
    logdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="nusaworker-fleet-")))
    queues: set[str] = field(default_factory=set)  # every queue a started worker consumes

    def start(
        self,
        name: str,
        queues: str,
        *,
        concurrency: int = 4,
        pool: str | None = "threads",
        extra_args: tuple[str, ...] = (),
        wait: bool = True,
    ) -> WorkerProcess:
        """Start one worker consuming ``queues`` (comma-separated) and wait until it is ready
        (``wait=False``: return at once, as a supervisor restarting a worker does not wait).

        ``pool=None`` gives no ``--pool`` flag: the pool ``celeryconfig.py`` chooses, as a
        plain ``celery -A nusaworker worker`` runs.
        """
        args = [
            "worker",
            "-Q",
            queues,
            *(["--pool", pool] if pool else []),
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
        worker = WorkerProcess.spawn(name, args, self.env, self.logdir, cwd=REPO_ROOT)
        self.workers.append(worker)
        self.queues.update(q for q in queues.split(",") if q)
        if wait:
            worker.wait_ready()
        return worker

    def busy(self) -> dict[str, int]:
        """What the broker still holds for this fleet: messages waiting in each of its queues
        (non-empty ones only) and ``unacked``, those delivered to a worker and not acknowledged.

        Tasks are acknowledged late (``task_acks_late``), so a task leaves ``unacked`` only once
        it ran to its end: all empty means nothing is waiting, reserved or running.
        """
        prefix = self.env["NUSAWORKER_KEY_PREFIX"]
        is_queue = _queue_lists(self.queues)
        client = redis.Redis.from_url(self.env["NUSAWORKER_REDIS_URL"], decode_responses=True)
        try:
            lists = [
                key
                for key in client.scan_iter(match=prefix + "*", count=1000, _type="list")
                if is_queue.fullmatch(key[len(prefix) :])
            ]
            pipe = client.pipeline(transaction=True)  # one snapshot of every count
            for key in lists:
                pipe.llen(key)
            pipe.hlen(prefix + UNACKED_KEY)
            *lengths, unacked = pipe.execute()
        finally:
            client.close()
        held = {key[len(prefix) :]: n for key, n in zip(lists, lengths, strict=True) if n}
        return {**held, "unacked": unacked} if unacked else held

    def drain(self, until: Callable[[], object] = lambda: True, *, timeout: float = 60.0) -> None:
        """Wait until the fleet has settled, or fail with what it still holds.

        Settled: ``busy()`` is empty and ``until()`` holds (e.g. the records of interest are
        final), on every poll for ``QUIET_S`` — a worker moves a message from its queue to
        ``unacked`` in two steps, so one empty poll could fall between them. After a drain,
        whatever the fleet was going to do with the work it had has been done: a test asserts
        that nothing (more) happened without sleeping for a guessed while.

        A SIGKILLed worker's unacknowledged tasks stay in ``unacked`` until the visibility
        timeout: after a kill, wait on the ledger instead.
        """
        quiet_since: float | None = None

        def settled() -> bool:
            nonlocal quiet_since
            if self.busy() or not until():
                quiet_since = None
                return False
            now = time.monotonic()
            quiet_since = now if quiet_since is None else quiet_since
            # Quiet for QUIET_S, not two polls 0.1 s apart: a worker descheduled between its
            # pop and its unacked write (a loaded box) can stay there longer than one interval.
            return now - quiet_since >= QUIET_S

        if not wait_for(settled, timeout):
            raise AssertionError(f"fleet not drained in {timeout} s: {self.busy() or 'until()'}")

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
