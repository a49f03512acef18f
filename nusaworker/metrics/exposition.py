"""Where a process's metrics are kept and how they are served.

A Celery worker is one main process and, under ``--pool prefork``, its children; the tasks run
in the children, the exporter can only listen in one place. prometheus-client's multiprocess
mode joins them: every process writes its counters to its own memory-mapped file in one
directory, and the main process's exporter sums the files at each scrape. Under the threads
pool the tasks run in the main process and write its file — the same code path, so a figure
means the same under either pool.

The directory belongs to one worker: it is emptied when the worker starts (counters of a past
run must not be summed into this one), a prefork child marks itself dead as it exits
(:func:`mark_dead`; its counters stay, they are totals), and a directory the worker made for
itself is removed when it stops. Two workers never share one: each would empty the other's.

prometheus-client picks its value class from ``PROMETHEUS_MULTIPROC_DIR`` when it is first
imported, which in a worker is long before the worker knows its settings; so
:func:`enable_multiprocess` sets the variable and switches the value class itself, before the
first metric value exists (values are made at first use: :mod:`.instruments`).
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    make_wsgi_app,
    multiprocess,
    start_http_server,
    values,
)
from prometheus_client.registry import Collector

__all__ = [
    "ENV",
    "enable_multiprocess",
    "mark_dead",
    "multiprocess_dir",
    "process_registry",
    "render",
    "serve",
    "sweep_private_dirs",
    "wsgi_app",
]

log = logging.getLogger(__name__)

ENV = "PROMETHEUS_MULTIPROC_DIR"


PRIVATE_PREFIX = "nusaworker-metrics-"


def enable_multiprocess(path: str = "") -> str:
    """Keep this process's metrics (and its future children's) in files under ``path`` — a
    fresh private directory if empty — emptied now; returns the directory. Call it in the
    worker's main process before any task runs."""
    if not path:
        # Named after this process: a worker SIGKILLed (or OOM-killed) never removes its own,
        # so the next one sweeps those of dead processes — each holds 1 MiB files, and a
        # container's /tmp (an emptyDir in deploy/k8s) outlives its restarts.
        parent = tempfile.gettempdir()
        sweep_private_dirs(parent)
        path = tempfile.mkdtemp(prefix=f"{PRIVATE_PREFIX}{os.getpid()}-", dir=parent)
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(path, "*.db")):
        os.remove(stale)
    os.environ[ENV] = path  # read by prometheus-client whenever it opens a process's file
    values.ValueClass = values.MultiProcessValue()
    return path


def sweep_private_dirs(parent: str, alive: Callable[[int], bool] | None = None) -> list[str]:
    """Remove the private directories under ``parent`` whose process is gone; returns them.

    A directory of this very process id is a previous life's (a container restarted, its
    process ids starting over), never this process's own: it makes its directory after.
    """
    alive = alive or _process_alive
    removed = []
    for entry in glob.glob(os.path.join(parent, PRIVATE_PREFIX + "*")):
        pid_text = os.path.basename(entry)[len(PRIVATE_PREFIX) :].partition("-")[0]
        if not pid_text.isdigit():
            continue  # not one we named (an older release's): left alone
        pid = int(pid_text)
        if pid == os.getpid() or not alive(pid):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, and not ours to judge
    return True


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode if this process is in it, else ``None``."""
    return os.environ.get(ENV) or None


def mark_dead(pid: int) -> None:
    """Bookkeeping for a process that exits (its counters stay: they are totals)."""
    path = multiprocess_dir()
    if path is not None:
        multiprocess.mark_process_dead(pid, path)


def remove_dir(path: str) -> None:
    """Remove a directory :func:`enable_multiprocess` made (a worker's last act)."""
    shutil.rmtree(path, ignore_errors=True)


class _Forward(Collector):
    """This process's own metrics (the default registry), inside another registry."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


def process_registry(collectors: Iterable[Collector] = ()) -> CollectorRegistry:
    """A registry of this process's instruments — summed over every process of the worker in
    multiprocess mode — plus ``collectors`` (the gauges read from Redis)."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path is not None:
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry.register(_Forward())
    for collector in collectors:
        registry.register(collector)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The registry's metrics in the Prometheus text format."""
    return generate_latest(registry)


def serve(registry: CollectorRegistry, port: int, addr: str = "0.0.0.0") -> Any:
    """Serve ``/metrics`` on ``port`` in a background thread; returns (server, thread)."""
    return start_http_server(port, addr=addr, registry=registry)


def wsgi_app(registry: CollectorRegistry) -> Any:
    """A WSGI app answering every request with the registry's metrics (a route of the
    receiver's app: ``GET /metrics``)."""
    return make_wsgi_app(registry)
