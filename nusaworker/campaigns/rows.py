"""A campaign's rows: each source row becomes an accepted row or a row error, never a crash.

::

    source (CSV · JSONL · iterable) ─▶ destination column ─▶ PhoneNormaliser ─▶ duplicate?
        ─▶ Template (fields present?) ─▶ AcceptedRow(row, destination, text, fields)
    any step that refuses ─▶ RowError(row, problem, reason) and the next row

One :class:`RowReader` reads one campaign: its template is parsed when it is made (a template
error is raised before any row is read), and it remembers every destination it accepted, so a
number met again — in the same source or in another one read by the same reader — is reported
as ``duplicate`` and dropped. That memory is a set of ints: 60 to 90 bytes per distinct
destination, by how full the set's table is (measured with tracemalloc; under 100 is tested),
so at most ~90 MB for a million: fine up to a few million; past that the campaign's records in
Redis are the place to deduplicate.

The reader holds no Redis, Celery or HTTP: the campaign layer above it records what it yields.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableSet
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from nusaworker.campaigns.errors import CampaignInputError
from nusaworker.campaigns.phones import PhoneNormaliser
from nusaworker.campaigns.sources import (
    CsvSource,
    Malformed,
    Record,
    Source,
    StrPath,
    iterable_records,
    jsonl_records,
)
from nusaworker.campaigns.templating import Template

#: The columns taken as the destination when none is named, in this order (case-insensitive).
DESTINATION_COLUMNS = ("destination", "phone", "number", "msisdn")

#: The file formats :meth:`RowReader.read_file` knows, by suffix.
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class RowProblem(StrEnum):
    """Why a row was not accepted."""

    #: No destination, or not a number a provider can take (the reason says which).
    INVALID = "invalid"
    #: Its destination was accepted in an earlier row of the campaign.
    DUPLICATE = "duplicate"
    #: The template needs a field the row does not have (or has empty).
    MISSING_FIELD = "missing_field"
    #: The row cannot be read: not JSON, not an object, not UTF-8, more cells than columns …
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class AcceptedRow:
    """A row to send: ``destination`` in E.164 digits without ``+``, ``text`` rendered.

    ``fields`` are the row's other columns (the destination column left out); ``line`` is the
    file line the row starts on (None for an iterable).
    """

    row: int
    destination: str
    text: str
    fields: dict[str, str]
    line: int | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    """A row skipped: ``problem`` for code, ``reason`` for people.

    ``value`` is the destination as written (``invalid``) or as normalised (``duplicate``).
    """

    row: int
    problem: RowProblem
    reason: str
    line: int | None = None
    value: str | None = None

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


RowResult = AcceptedRow | RowError


@dataclass
class RowCounts:
    """How many rows a reader accepted and why it skipped the others."""

    accepted: int = 0
    invalid: int = 0
    duplicate: int = 0
    missing_field: int = 0
    malformed: int = 0

    @property
    def total(self) -> int:
        """Every row read (blank lines are not rows)."""
        return self.accepted + self.invalid + self.duplicate + self.missing_field + self.malformed

    def as_dict(self) -> dict[str, int]:
        """The counts by name, ``total`` included."""
        return {
            "accepted": self.accepted,
            "invalid": self.invalid,
            "duplicate": self.duplicate,
            "missing_field": self.missing_field,
            "malformed": self.malformed,
            "total": self.total,
        }


class RowReader:
    """Reads the rows of one campaign (see the module docstring).

    ``template``: the message text, e.g. ``"Hi {name}, your code {code}"``.
    ``region``: where numbers without a country code are read (``Settings.default_region``).
    ``destination_column``: the column holding the number; default the first of
    :data:`DESTINATION_COLUMNS` present (names compared case-insensitively). ``seen``: the
    destinations already accepted, as ints (pass one set to several readers to deduplicate
    across them). ``counts`` grows as rows are read.

    Raises :class:`~nusaworker.campaigns.errors.CampaignInputError` when the template does not
    parse or the region is unknown; the ``read_*`` methods raise it, before yielding any row,
    when a CSV has no header or no destination column, or a file's format is not known.
    """

    def __init__(
        self,
        template: Template | str,
        *,
        region: str = "ID",
        destination_column: str | None = None,
        seen: MutableSet[int] | None = None,
    ) -> None:
        self.template = template if isinstance(template, Template) else Template(template)
        self.normalise = PhoneNormaliser(region)
        self.destination_column = destination_column
        self.seen: MutableSet[int] = set() if seen is None else seen
        self.counts = RowCounts()
        wanted = (destination_column,) if destination_column else DESTINATION_COLUMNS
        self._wanted = tuple(name.strip().casefold() for name in wanted)

    def __repr__(self) -> str:
        return (
            f"RowReader({self.template!r}, region={self.normalise.region!r}, "
            f"destination_column={self.destination_column!r}, counts={self.counts})"
        )

    def read_csv(self, path: StrPath, *, delimiter: str = ",") -> Iterator[RowResult]:
        """The rows of a CSV file with a header line, streamed."""
        with CsvSource(path, delimiter=delimiter) as source:
            column = self._column(source.columns)
            if column is None:
                raise CampaignInputError(
                    f"{path}: no destination column (looked for {', '.join(self._wanted)}; "
                    f"found {', '.join(c for c in source.columns if c) or 'none'})"
                )
            yield from self._rows(iter(source), column)

    def read_jsonl(self, path: StrPath) -> Iterator[RowResult]:
        """The rows of a JSONL file (one object per line), streamed."""
        yield from self._rows(jsonl_records(path), None)

    def read_records(self, records: Iterable[Mapping[str, object]]) -> Iterator[RowResult]:
        """The rows of an iterable of mappings, consumed lazily."""
        yield from self._rows(iterable_records(records), None)

    def read_file(self, path: StrPath) -> Iterator[RowResult]:
        """A CSV (``.csv``, ``.tsv``) or JSONL (``.jsonl``, ``.ndjson``) file, by its suffix."""
        kind = SUFFIXES.get(Path(path).suffix.lower())
        if kind is None:
            known = ", ".join(SUFFIXES)
            raise CampaignInputError(f"{path}: not a known format (suffixes: {known})")
        if kind == "jsonl":
            return self.read_jsonl(path)
        return self.read_csv(path, delimiter="\t" if kind == "tsv" else ",")

    def _column(self, names: Iterable[str]) -> str | None:
        """The first wanted column present among ``names``, as spelled there."""
        if isinstance(names, Mapping):
            for want in self._wanted:  # the common spelling, without folding every key
                if want in names:
                    return want
        folded = {name.casefold(): name for name in names if name}
        for want in self._wanted:
            if want in folded:
                return folded[want]
        return None

    def _rows(self, source: Source, column: str | None) -> Iterator[RowResult]:
        for row, line, record in source:
            result = self._row(row, line, record, column)
            counts = self.counts
            if type(result) is AcceptedRow:
                counts.accepted += 1
            else:
                assert isinstance(result, RowError)
                setattr(counts, result.problem.value, getattr(counts, result.problem.value) + 1)
            yield result

    def _row(
        self, row: int, line: int | None, record: Record | Malformed, column: str | None
    ) -> RowResult:
        if isinstance(record, Malformed):
            return RowError(row, RowProblem.MALFORMED, record.reason, line)
        key = column if column is not None else self._column(record)
        raw = record.pop(key, None) if key is not None else None
        if raw is None or not raw.strip():
            return RowError(row, RowProblem.INVALID, "no destination", line)
        destination = self.normalise(raw)
        if not isinstance(destination, str):
            return RowError(row, RowProblem.INVALID, str(destination), line, raw)
        number = int(destination)
        if number in self.seen:
            return RowError(row, RowProblem.DUPLICATE, "duplicate destination", line, destination)
        template = self.template
        if template.fields:
            missing = template.missing(record)
            if missing:
                names = ", ".join(repr(name) for name in missing)
                noun = "field" if len(missing) == 1 else "fields"
                reason = f"no value for the template {noun} {names}"
                return RowError(row, RowProblem.MISSING_FIELD, reason, line)
        self.seen.add(number)
        return AcceptedRow(row, destination, template.render(record), record, line)
