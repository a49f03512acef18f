"""Where campaign rows come from: CSV and JSONL files, streamed, and Python iterables of mappings.

Each source yields ``(row, line, record)``: the row's number (1 = the first data row), the file
line it starts on (None for an iterable) and either its values as a ``dict[str, str]`` or a
:class:`Malformed` saying why the row cannot be read. A bad row never stops the stream.

Files are never loaded whole: they are read line by line in binary and each line decoded on
its own, so a line that is not UTF-8 spoils only its own row, and a JSONL line is cut off at
:data:`MAX_LINE_BYTES` (a CSV field at :func:`csv.field_size_limit`, 128 KiB) — memory stays
bounded whatever the file holds.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from os import PathLike
from typing import IO, Any

from nusaworker.campaigns.errors import CampaignInputError

#: The longest JSONL line read; a longer one is a malformed row and is skipped.
MAX_LINE_BYTES = 1 << 20

_BOM = b"\xef\xbb\xbf"

Record = dict[str, str]
Source = Iterator[tuple[int, int | None, "Record | Malformed"]]
StrPath = str | PathLike[str]


@dataclass(frozen=True, slots=True)
class Malformed:
    """A row that cannot be read at all; ``reason`` says why."""

    reason: str


class CsvSource:
    """One CSV file: a header line naming the columns, then one record per row.

    Used as a context manager: entering opens the file and reads the header (raising
    :class:`~nusaworker.campaigns.errors.CampaignInputError` when there is none, or a column is
    named twice); iterating yields the rows; leaving closes the file. Quoted fields may hold
    commas and newlines; a UTF-8 byte order mark is dropped. Columns without a name are ignored.
    """

    def __init__(self, path: StrPath, *, delimiter: str = ",") -> None:
        self.path = path
        self.delimiter = delimiter
        self.columns: list[str] = []
        self._file: IO[bytes] | None = None
        self._reader: Any = None
        self._undecodable = False

    def __enter__(self) -> CsvSource:
        self._file = open(self.path, "rb")  # closed by __exit__
        try:
            self._reader = csv.reader(self._lines(self._file), delimiter=self.delimiter)
            header = next(self._reader, None)
            if self._undecodable or header is None:
                raise CampaignInputError(f"{self.path}: no header line (UTF-8) naming the columns")
            self.columns = [name.strip() for name in header]
            named = [name for name in self.columns if name]
            twice = sorted({name for name in named if named.count(name) > 1})
            if twice:
                raise CampaignInputError(f"{self.path}: columns named twice: {twice}")
        except BaseException:
            self._file.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()

    def __iter__(self) -> Source:
        reader = self._reader
        columns = self.columns
        width = len(columns)
        keep = None if all(columns) else [i for i, name in enumerate(columns) if name]
        row, line = 0, reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row += 1
                yield row, line, Malformed(f"not valid CSV: {exc}")
                line = reader.line_num + 1
                continue
            start, line = line, reader.line_num + 1
            undecodable, self._undecodable = self._undecodable, False
            if not cells or (not cells[0].strip() and not any(c.strip() for c in cells)):
                continue  # a blank line, or a spreadsheet's empty row (",,,")
            row += 1
            if undecodable:
                yield row, start, Malformed("not UTF-8 text")
            elif len(cells) > width:
                yield row, start, Malformed(f"{len(cells)} cells, the header names {width}")
            elif keep is None:
                yield row, start, dict(zip(columns, cells, strict=False))
            else:
                yield row, start, {columns[i]: cells[i] for i in keep if i < len(cells)}

    def _lines(self, file: IO[bytes]) -> Iterator[str]:
        # csv.reader asks for one line at a time and only as far as the record it is reading, so a
        # flag raised while decoding belongs to the record the reader hands back next.
        first = True
        for data in file:
            if first:
                first = False
                data = data.removeprefix(_BOM)
            try:
                yield data.decode("utf-8")
            except UnicodeDecodeError:
                self._undecodable = True
                yield data.decode("utf-8", "replace")


def jsonl_records(path: StrPath) -> Source:
    """The rows of a JSONL file: one JSON object per line; blank lines are skipped.

    A row's number is its line number, so a bad line is reported where an editor shows it.
    """
    with open(path, "rb") as file:
        number = 0
        while True:
            data = file.readline(MAX_LINE_BYTES + 1)
            if not data:
                return
            number += 1
            if number == 1:
                data = data.removeprefix(_BOM)
            if len(data) > MAX_LINE_BYTES and not data.endswith(b"\n"):
                while data and not data.endswith(b"\n"):  # skip the rest of the line
                    data = file.readline(MAX_LINE_BYTES)
                yield number, number, Malformed(f"line longer than {MAX_LINE_BYTES} bytes")
                continue
            if not data.strip():
                continue
            try:
                value = json.loads(data)
            except UnicodeDecodeError:
                yield number, number, Malformed("not UTF-8 text")
                continue
            except ValueError as exc:
                yield number, number, Malformed(f"not valid JSON: {exc}")
                continue
            if not isinstance(value, dict):
                yield number, number, Malformed("not a JSON object")
                continue
            yield number, number, as_record(value)


def iterable_records(records: Iterable[Mapping[str, object]]) -> Source:
    """The rows of an iterable of mappings (a generator of the user's backend, a list …)."""
    for number, value in enumerate(records, start=1):
        if not isinstance(value, Mapping):
            yield number, None, Malformed(f"not a mapping but {type(value).__name__}")
            continue
        yield number, None, as_record(value)


def as_record(value: Mapping[Any, object]) -> Record | Malformed:
    """A mapping's values as text: numbers and booleans spelled as in JSON, None left out.

    A nested value (list, dict, bytes …) makes the row malformed: it cannot be a template field.
    """
    record: Record = {}
    for key, item in value.items():
        if isinstance(item, str):
            record[str(key)] = item
        elif item is None:
            continue
        elif isinstance(item, bool):
            record[str(key)] = "true" if item else "false"
        elif isinstance(item, (Mapping, list, tuple, set, frozenset, bytes, bytearray)):
            return Malformed(f"field {key!r} is a {type(item).__name__}, not a text or number")
        else:
            record[str(key)] = str(item)
    return record
