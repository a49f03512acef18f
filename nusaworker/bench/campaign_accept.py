"""Campaign acceptance figures: recipients/s against the producer loop, RSS and Redis bytes.

Three measurements of :mod:`.campaign_bench`, each under a key prefix of its own (deleted
after):

* :func:`acceptance` — ``Campaigns.create`` on a generated CSV (``destination,name``, template
  ``Hi {name}``; scheduled a year ahead and no beat running, so nothing is dispatched: only
  read, validate, normalise, suppression check, record), then the per-message producer loop
  a backend would write (``csv.DictReader`` → ``Producer.send_whatsapp(…, priority="bulk")``
  per row) on the first ``loop_rows`` rows of the same file, against the same Redis. The
  destinations are spelled ``62812…`` or ``+62812…`` so that the producer, which does not
  normalise with ``phonenumbers``, takes every row too: both paths do the same recipients.
* :func:`million` — a large CSV (:func:`.campaign_input.write_csv`: mixed spellings, ~1 %
  not numbers, ~1 % repeats) accepted by a child process (``python -m
  nusaworker.bench.campaign_accept``, this module's ``main``) that reports its own peak RSS;
  then the Redis bytes of everything under the prefix (the campaign's keys, its index, the
  events stream) per accepted row.
* :func:`dispatched_record` — one real dispatcher tick on a small campaign (the broker
  enqueue is real, nobody consumes): the bytes of a ledger record the tick created, and of
  everything a handed-out row costs while it waits on the broker.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis
from pydantic import ValidationError

from nusaworker.bench.campaign_input import TEMPLATE as LONG_TEMPLATE
from nusaworker.bench.campaign_input import write_csv as write_mixed_csv
from nusaworker.bench.procstat import peak_rss_kib
from nusaworker.campaigns import Campaigns, CampaignSpec
from nusaworker.campaigns.api import rate_of
from nusaworker.campaigns.dispatch import Dispatcher
from nusaworker.campaigns.store import CampaignStore, row_id
from nusaworker.keys import Keys
from nusaworker.producer import Producer
from nusaworker.settings import Settings
from nusaworker.testing.redis_server import delete_prefix

TEMPLATE = "Hi {name}"
# Far enough ahead that nothing is dispatched while the figures are read.
YEAR_S = 365 * 24 * 3600.0
# A dispatcher tick hands out one window: 20/s x 5 s.
DISPATCH_ROWS = 100


def write_rows(path: Path, rows: int) -> None:
    """``rows`` recipients, ``destination,name``; one in ten names quoted (it has a comma)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("destination,name\r\n")
        for i in range(rows):
            plus = "+" if i % 2 else ""
            name = f'"Pelanggan {i}, Jakarta"' if i % 10 == 0 else f"Pelanggan {i}"
            out.write(f"{plus}62812{i:08d},{name}\r\n")


def prefix_bytes(client: redis.Redis, prefix: str) -> tuple[int, int]:
    """``(bytes, keys)``: ``MEMORY USAGE … SAMPLES 0`` summed over every key under ``prefix``."""
    total = count = 0
    keys = client.scan_iter(match=prefix + "*", count=1000)
    while batch := list(itertools.islice(keys, 1000)):
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.memory_usage(key, samples=0)
        total += sum(int(n or 0) for n in pipe.execute())
        count += len(batch)
    return total, count


def _settings(redis_url: str, prefix: str) -> Settings:
    return Settings(redis_url=redis_url, key_prefix=prefix)


def acceptance(redis_url: str, run_prefix: str, path: Path, *, loop_rows: int) -> dict[str, Any]:
    """The campaign's acceptance of every row of ``path`` beside the producer loop on its first
    ``loop_rows`` rows; each under a fresh prefix, deleted after."""
    client = redis.Redis.from_url(redis_url)
    try:
        campaign = _accept_campaign(client, redis_url, f"{run_prefix}accept:", path)
        loop = _producer_loop(client, redis_url, f"{run_prefix}loop:", path, loop_rows)
    finally:
        client.close()
    rate, loop_rate = campaign["recipients_per_s"], loop["recipients_per_s"]
    return {
        "campaign": campaign,
        "producer_loop": loop,
        "ratio": round(rate / loop_rate, 2) if loop_rate else None,
    }


def _accept_campaign(client: redis.Redis, url: str, prefix: str, path: Path) -> dict[str, Any]:
    campaigns = Campaigns.from_settings(_settings(url, prefix))
    spec = CampaignSpec(
        name="bench acceptance", channel="wa", template=TEMPLATE, start_at=time.time() + YEAR_S
    )
    try:
        started = time.perf_counter()
        info = campaigns.create(spec, path)
        seconds = time.perf_counter() - started
        memory, keys = prefix_bytes(client, prefix)
        campaign_keys = campaigns.store.memory(info.id)
    finally:
        campaigns.store.redis.close()
        delete_prefix(url, prefix)
    total = info.rows + sum(info.skipped.values())
    return {
        "rows": total,
        "accepted": info.rows,
        "skipped": info.skipped,
        "state_after": info.state.value,
        "seconds": round(seconds, 3),
        "recipients_per_s": round(total / seconds, 1),
        "redis_bytes_all": memory,
        "redis_keys": keys,
        "redis_bytes_campaign_keys": campaign_keys,
        "redis_bytes_per_recipient": round(memory / info.rows, 1) if info.rows else None,
    }


def _producer_loop(
    client: redis.Redis, url: str, prefix: str, path: Path, rows: int
) -> dict[str, Any]:
    producer = Producer.from_settings(_settings(url, prefix))
    done = refused = 0
    try:
        started = time.perf_counter()
        with path.open(encoding="utf-8", newline="") as source:
            for row in itertools.islice(csv.DictReader(source), rows):
                try:
                    producer.send_whatsapp(
                        row["destination"], TEMPLATE.format_map(row), priority="bulk"
                    )
                except ValidationError:
                    refused += 1
                done += 1
        seconds = time.perf_counter() - started
        memory, keys = prefix_bytes(client, prefix)
    finally:
        producer.app.close()
        producer.ledger.redis.close()
        delete_prefix(url, prefix)
    recorded = done - refused
    return {
        "rows": done,
        "refused": refused,
        "seconds": round(seconds, 3),
        "recipients_per_s": round(done / seconds, 1) if seconds else None,
        # Every record waits on the broker as a Celery message of its own.
        "redis_bytes_all": memory,
        "redis_keys": keys,
        "redis_bytes_per_message": round(memory / recorded, 1) if recorded else None,
    }


def million(
    redis_url: str, run_prefix: str, workdir: Path, *, rows: int, seed: int = 7
) -> dict[str, Any]:
    """A ``rows``-row mixed CSV accepted by a child process; its peak RSS, the Redis bytes."""
    path = workdir / "million.csv"
    write_mixed_csv(path, rows, seed=seed)
    size = path.stat().st_size
    prefix = f"{run_prefix}million:"
    args = [sys.executable, "-m", __name__, "--file", str(path), "--redis-url", redis_url]
    try:
        done = subprocess.run(
            [*args, "--prefix", prefix],
            check=True,
            capture_output=True,
            text=True,
        )
        child = json.loads(done.stdout)
        client = redis.Redis.from_url(redis_url)
        try:
            memory, keys = prefix_bytes(client, prefix)
            store = CampaignStore(client, keys=Keys(prefix=prefix))
            campaign_keys = store.memory(child["campaign_id"])
            entry = store.rows(child["campaign_id"], 0, 1)[0].encode()
            text_chars = _mean_text_chars(store, child["campaign_id"], child["accepted"])
        finally:
            client.close()
    finally:
        delete_prefix(redis_url, prefix)
        path.unlink(missing_ok=True)
    accepted = child["accepted"]
    return {
        **child,
        "file_bytes": size,
        "template": LONG_TEMPLATE,
        "redis_bytes_all": memory,
        "redis_keys": keys,
        "redis_bytes_campaign_keys": campaign_keys,
        "redis_bytes_per_recipient": round(memory / accepted, 1) if accepted else None,
        "mean_text_chars": text_chars,
        "example_row_entry_chars": len(entry),
    }


def _mean_text_chars(store: CampaignStore, campaign_id: str, rows: int) -> float | None:
    """The mean length of the rendered texts, from a sample spread over the rows list."""
    if not rows:
        return None
    step = max(1, rows // 100)
    sample = [r for i in range(0, rows, step) for r in store.rows(campaign_id, i, 1)]
    return round(statistics.fmean(len(r.text) for r in sample), 1)


def dispatched_record(redis_url: str, run_prefix: str) -> dict[str, Any]:
    """One dispatcher tick on a small campaign: the Redis bytes of a ledger record it made."""
    prefix = f"{run_prefix}record:"
    settings = _settings(redis_url, prefix)
    campaigns = Campaigns.from_settings(settings)
    client = campaigns.store.redis
    try:
        spec = CampaignSpec(name="bench record", channel="wa", template=LONG_TEMPLATE)
        rows = (
            {"destination": f"62813{i:08d}", "name": f"Pelanggan {i}", "code": f"{i:06d}"}
            for i in range(DISPATCH_ROWS)
        )
        info = campaigns.create(spec, rows)
        before, _ = prefix_bytes(client, prefix)
        dispatcher = Dispatcher(
            campaigns.store,
            campaigns.ledger,
            enqueue=campaigns.enqueue,
            rate_of=rate_of(settings),
            in_flight=settings.campaign_in_flight,
        )
        tick = dispatcher.tick(info.id)
        handed = tick.dispatched if tick is not None else 0
        after, _ = prefix_bytes(client, prefix)
        keys = [campaigns.ledger.keys.message(row_id(info.id, r)) for r in range(1, handed + 1)]
        sizes = [int(client.memory_usage(k, samples=0) or 0) for k in keys]
        encoding = client.object("encoding", keys[0]) if keys else None
        fields = client.hlen(keys[0]) if keys else None
    finally:
        client.close()
        delete_prefix(redis_url, prefix)
    return {
        "template": LONG_TEMPLATE,
        "dispatched": handed,
        "record_bytes_mean": round(statistics.fmean(sizes), 1) if sizes else None,
        "record_bytes_max": max(sizes) if sizes else None,
        "record_encoding": encoding.decode() if isinstance(encoding, bytes) else encoding,
        "record_fields": fields,
        # The record, its broker message, its index entries and the window set, per row.
        "bytes_per_dispatched_all": round((after - before) / handed, 1) if handed else None,
    }


# -- the child process of million() ---------------------------------------------------------


def _rss_mb() -> float | None:
    # VmHWM of this process's own memory map: ru_maxrss would also carry the high-water mark
    # of the parent's map that this process was forked from (Linux keeps it across exec).
    kib = peak_rss_kib(os.getpid())
    return None if kib is None else round(kib / 1024, 1)


def _accept_file(path: Path, redis_url: str, prefix: str) -> dict[str, Any]:
    campaigns = Campaigns.from_settings(_settings(redis_url, prefix))
    spec = CampaignSpec(
        name="bench million", channel="wa", template=LONG_TEMPLATE, start_at=time.time() + YEAR_S
    )
    before = _rss_mb()
    started = time.perf_counter()
    info = campaigns.create(spec, path)
    seconds = time.perf_counter() - started
    campaigns.store.redis.close()
    total = info.rows + sum(info.skipped.values())
    return {
        "campaign_id": info.id,
        "rows": total,
        "accepted": info.rows,
        "skipped": info.skipped,
        "seconds": round(seconds, 3),
        "recipients_per_s": round(total / seconds, 1),
        "peak_rss_mb": _rss_mb(),
        # The interpreter and the imports (Celery among them), before the first row.
        "rss_before_accept_mb": before,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """The child of :func:`million`: accept one file, print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="nusaworker.bench.campaign_accept")
    parser.add_argument("--file", type=Path, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", required=True)
    args = parser.parse_args(argv)
    print(json.dumps(_accept_file(args.file, args.redis_url, args.prefix)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
