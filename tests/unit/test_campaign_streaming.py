"""Campaign input is streamed: memory stays bounded whatever the file's size.

tracemalloc's peak, not time, is asserted (a timing is never asserted in a unit test); the rows/s
figure is the benchmark's, ``python -m nusaworker.bench.campaign_input``.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from nusaworker.bench import campaign_input
from nusaworker.bench.campaign_input import TEMPLATE, write_csv
from nusaworker.campaigns import RowReader

MB = 1 << 20


class Forgetful(set[int]):
    """A duplicate set that remembers nothing: what is left of the peak is the streaming."""

    def add(self, element: int) -> None:
        pass


@pytest.fixture
def big_csv(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "big.csv"
    # 2,000 numbers in four spellings: the normaliser's cache answers most rows, which keeps the
    # test quick under tracemalloc; every other step runs for each of the 200,000 rows.
    write_csv(path, 200_000, distinct=2_000)
    yield path
    path.unlink()


def _peak(reader: RowReader, path: Path) -> int:
    # Warm up first: phonenumbers loads a region's metadata on first use, once per process.
    list(RowReader(TEMPLATE).read_records([{"phone": "0812-3456-7890", "name": "a", "code": 1}]))
    tracemalloc.start()
    try:
        for _ in reader.read_csv(path):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_campaign_streaming_200k_rows_peak_is_a_fraction_of_the_file(big_csv: Path) -> None:
    size = big_csv.stat().st_size
    reader = RowReader(TEMPLATE, seen=Forgetful())
    peak = _peak(reader, big_csv)
    assert reader.counts.total == 200_000
    assert reader.counts.accepted > 195_000
    # Loading the file whole would cost at least its size (~8 MB) in one string alone.
    assert size > 7 * MB
    assert peak < min(4 * MB, size / 2), f"peak {peak / MB:.1f} MB for a {size / MB:.1f} MB file"


def test_campaign_streaming_duplicate_set_costs_under_100_bytes_a_destination(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.csv"
    write_csv(path, 20_000)
    reader = RowReader(TEMPLATE)
    tracemalloc.start()
    try:
        for _ in reader.read_csv(path):
            pass
        with_set = tracemalloc.get_traced_memory()[0]
        reader.seen.clear()  # frees the ints and the table, both allocated while traced
        without = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert reader.counts.accepted > 19_000 and reader.counts.duplicate > 0
    assert 0 < with_set - without < 100 * reader.counts.accepted


def test_campaign_bench_prints_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert campaign_input.main(["--rows", "3000", "--seed", "3"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["rows"] == 3000
    assert figures["accepted"] + figures["invalid"] + figures["duplicate"] == 3000
    assert figures["invalid"] > 0 and figures["duplicate"] > 0
    assert figures["rows_per_s"] > 0 and figures["peak_rss_mb"] > 0
