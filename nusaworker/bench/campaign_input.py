"""Campaign acceptance, input side: how fast rows are read, normalised and templated.

Writes a generated CSV to a temporary file (1,000,000 rows by default: destinations in the
spellings people use — ``0812…``, ``+62 812-…``, ``62812…``, ``(0812) …`` — with about 1 % not
numbers and 1 % repeats), streams it through :class:`~nusaworker.campaigns.RowReader` and prints
JSON: rows/s, the process's peak RSS (``resource.getrusage``; it includes writing the file, which
is streamed too) and the counts by outcome. One process, one core; no Redis, no Celery.

    python -m nusaworker.bench.campaign_input [--rows 1000000] [--seed 7]

Not part of ``make bench``: the campaign benchmark proper (:mod:`.campaign_bench`: acceptance
into Redis side by side with the producer loop, run by ``make bench``) measures this layer
together with the rest of the acceptance.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nusaworker.campaigns import RowReader

TEMPLATE = "Hi {name}, your code is {code}. Reply STOP to opt out."

_NOT_NUMBERS = ("n/a", "-", "0812", "+999 1234567", "hello", "0999 1234 5678")


def _spelled(number: int, rng: random.Random) -> str:
    """Indonesian mobile ``62 8xx …`` number ``number`` as a person might have typed it."""
    digits = f"8{number:010d}"  # 11 national digits: 8xx-xxxx-xxxx
    style = rng.randrange(4)
    if style == 0:
        return "0" + digits
    if style == 1:
        return f"+62 {digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 2:
        return "62" + digits
    return f"(0{digits[:3]}) {digits[3:7]}-{digits[7:]}"


def write_csv(path: Path, rows: int, *, seed: int = 7, distinct: int | None = None) -> None:
    """``rows`` data rows (plus a header) to ``path``, written line by line.

    ``distinct``: draw the numbers from that many only (row ``i`` gets number ``i % distinct``),
    for a file that is big without being costly to normalise.
    """
    rng = random.Random(seed)
    base = 1_200_000_000  # 0812-0000-0000 onwards: valid Telkomsel numbers
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("destination,name,code\r\n")
        for i in range(rows):
            roll = rng.random()
            if roll < 0.01:
                destination = rng.choice(_NOT_NUMBERS)
            elif roll < 0.02 and i:
                destination = _spelled(base + rng.randrange(i), rng)  # an earlier row's
            else:
                destination = _spelled(base + (i % distinct if distinct else i), rng)
            name = f'"Pelanggan {i}, Jakarta"' if i % 10 == 0 else f"Pelanggan {i}"
            out.write(f"{destination},{name},{rng.randrange(1_000_000):06d}\r\n")


def run(rows: int, *, seed: int = 7) -> dict[str, Any]:
    """Write, read and time; the figures."""
    with tempfile.TemporaryDirectory(prefix="nw-campaign-") as tmp:
        path = Path(tmp) / "campaign.csv"
        started = time.perf_counter()
        write_csv(path, rows, seed=seed)
        written_s = time.perf_counter() - started
        size = path.stat().st_size
        reader = RowReader(TEMPLATE)
        before = _peak_rss_mb()
        started = time.perf_counter()
        for _ in reader.read_csv(path):
            pass
        seconds = time.perf_counter() - started
    counts = reader.counts.as_dict()
    return {
        "benchmark": "campaign_input",
        "rows": counts["total"],
        "file_bytes": size,
        "seconds": round(seconds, 3),
        "rows_per_s": round(counts["total"] / seconds),
        "write_seconds": round(written_s, 3),
        "peak_rss_mb": _peak_rss_mb(),
        # The interpreter, phonenumbers and the file writing, before the first row is read.
        "peak_rss_before_read_mb": before,
        "accepted": counts["accepted"],
        "invalid": counts["invalid"],
        "duplicate": counts["duplicate"],
        "missing_field": counts["missing_field"],
        "malformed": counts["malformed"],
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d"),
    }


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.rows, seed=args.seed), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
