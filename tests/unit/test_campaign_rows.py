"""Campaign rows from CSV, JSONL and iterables: accepted rows or row errors, never a crash."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from nusaworker.campaigns import (
    AcceptedRow,
    CampaignInputError,
    RowError,
    RowProblem,
    RowReader,
    RowResult,
)
from nusaworker.campaigns.sources import MAX_LINE_BYTES

TEMPLATE = "Hi {name}, your code {code}"


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def accepted(results: list[RowResult]) -> list[AcceptedRow]:
    return [r for r in results if isinstance(r, AcceptedRow)]


def errors(results: list[RowResult]) -> list[RowError]:
    return [r for r in results if isinstance(r, RowError)]


# -- CSV ---------------------------------------------------------------------------------------


def test_rows_csv_quoted_commas_newlines_and_bom(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.csv",
        b"\xef\xbb\xbfdestination,name,code\r\n"
        b'0812-3456-7890,"Tan, Ayu",4711\r\n'
        b'"+62 813 1111 2222","Budi\nSantoso","""42"""\r\n',
    )
    results = list(RowReader(TEMPLATE).read_csv(path))
    assert results == [
        AcceptedRow(
            1,
            "6281234567890",
            "Hi Tan, Ayu, your code 4711",
            {"name": "Tan, Ayu", "code": "4711"},
            2,
        ),
        AcceptedRow(
            2,
            "6281311112222",
            'Hi Budi\nSantoso, your code "42"',
            {"name": "Budi\nSantoso", "code": '"42"'},
            3,
        ),
    ]


@pytest.mark.parametrize("column", ["destination", "Phone", " NUMBER ", "msisdn"])
def test_rows_csv_destination_column_aliases(tmp_path: Path, column: str) -> None:
    path = write(tmp_path, "c.csv", f"name,{column},code\nAyu,0812345678,1\n")
    [row] = list(RowReader(TEMPLATE).read_csv(path))
    assert row == AcceptedRow(
        1, "62812345678", "Hi Ayu, your code 1", {"name": "Ayu", "code": "1"}, 2
    )


def test_rows_csv_named_destination_column_others_become_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "hp,phone,name,code\n0812345678,home,Ayu,1\n")
    [row] = list(RowReader(TEMPLATE, destination_column="HP").read_csv(path))
    assert isinstance(row, AcceptedRow)
    assert row.destination == "62812345678"
    assert row.fields == {"phone": "home", "name": "Ayu", "code": "1"}


def test_rows_csv_without_destination_column_is_refused_before_any_row(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "name,code\nAyu,1\n")
    with pytest.raises(CampaignInputError, match=r"no destination column .*found name, code"):
        next(RowReader(TEMPLATE).read_csv(path))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no header"),
        (b"\xff\xfe,x\n0812345678,1\n", "no header"),
        (b"a,a,destination\n", "twice"),
    ],
)
def test_rows_csv_bad_header_is_refused(tmp_path: Path, data: bytes, message: str) -> None:
    path = write(tmp_path, "c.csv", data)
    with pytest.raises(CampaignInputError, match=message):
        list(RowReader("Hi").read_csv(path))


def test_rows_csv_bad_rows_are_reported_and_the_rest_continues(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.csv",
        b"destination,name,code\n"
        b"0812345601,Ayu,1\n"  # row 1, line 2
        b"\n"  # blank: not a row
        b",,\n"  # an empty spreadsheet row: not a row
        b"0812345602,Budi,2,surplus\n"  # row 2, line 5: more cells than columns
        b"0812345603,Cit\xe9,3\n"  # row 3, line 6: not UTF-8
        b"0812345604,Dewi\n"  # row 4, line 7: no code
        b'0812345605,"' + b"x" * 200_000 + b'",5\n'  # row 5, line 8: a field past csv's limit
        b"hello,Eka,6\n"  # row 6, line 9: not a number
        b",Fajar,7\n"  # row 7, line 10: no destination
        b"0812345608,Gita,8\n",  # row 8, line 11
    )
    reader = RowReader(TEMPLATE)
    results = list(reader.read_csv(path))
    assert [(r.row, r.line) for r in results] == [
        (1, 2), (2, 5), (3, 6), (4, 7), (5, 8), (6, 9), (7, 10), (8, 11)
    ]  # fmt: skip
    assert [r.destination for r in accepted(results)] == ["62812345601", "62812345608"]
    problems = [(e.row, e.problem, e.reason) for e in errors(results)]
    assert problems[:3] == [
        (2, RowProblem.MALFORMED, "4 cells, the header names 3"),
        (3, RowProblem.MALFORMED, "not UTF-8 text"),
        (4, RowProblem.MISSING_FIELD, "no value for the template field 'code'"),
    ]
    assert problems[3][:2] == (5, RowProblem.MALFORMED)
    assert "field larger than field limit" in problems[3][2]
    assert problems[4:] == [
        (6, RowProblem.INVALID, "not a phone number"),
        (7, RowProblem.INVALID, "no destination"),
    ]
    assert reader.counts.as_dict() == {
        "accepted": 2,
        "invalid": 2,
        "duplicate": 0,
        "missing_field": 1,
        "malformed": 3,
        "total": 8,
    }


def test_rows_read_file_by_suffix(tmp_path: Path) -> None:
    tsv = write(tmp_path, "c.tsv", "phone\tname\tcode\n0812345678\tAyu, Tan\t1\n")
    jsonl = write(tmp_path, "c.ndjson", '{"phone": "0812345679", "name": "Budi", "code": 2}\n')
    reader = RowReader(TEMPLATE)
    rows = [*reader.read_file(tsv), *reader.read_file(jsonl)]
    assert [(r.destination, r.text) for r in accepted(rows)] == [
        ("62812345678", "Hi Ayu, Tan, your code 1"),
        ("62812345679", "Hi Budi, your code 2"),
    ]
    with pytest.raises(CampaignInputError, match="not a known format"):
        reader.read_file(tmp_path / "c.xlsx")


# -- JSONL -------------------------------------------------------------------------------------


def test_rows_jsonl_bad_line_reported_with_its_line_number(tmp_path: Path) -> None:
    lines = [
        json.dumps({"destination": "0812345601", "name": "Ayu", "code": 1}),
        '{"destination": "0812345602", "name": ',  # line 2: cut off
        "",  # line 3: blank
        "[1, 2]",  # line 4: not an object
        json.dumps({"msisdn": 62812345605, "name": "Eka", "code": 5.5, "vip": True, "x": None}),
        json.dumps({"destination": "0812345606", "name": ["a"], "code": 6}),  # line 6: nested
        json.dumps({"destination": "0812345607", "name": "Gita", "code": 7}),
    ]
    path = write(tmp_path, "c.jsonl", b"\xef\xbb\xbf" + "\n".join(lines).encode())
    results = list(RowReader(TEMPLATE).read_jsonl(path))
    assert [r.row for r in results] == [1, 2, 4, 5, 6, 7]
    assert [(r.row, r.destination, r.text, r.fields) for r in accepted(results)] == [
        (1, "62812345601", "Hi Ayu, your code 1", {"name": "Ayu", "code": "1"}),
        (5, "62812345605", "Hi Eka, your code 5.5", {"name": "Eka", "code": "5.5", "vip": "true"}),
        (7, "62812345607", "Hi Gita, your code 7", {"name": "Gita", "code": "7"}),
    ]
    bad = errors(results)
    assert [(e.row, e.line, e.problem) for e in bad] == [
        (2, 2, RowProblem.MALFORMED),
        (4, 4, RowProblem.MALFORMED),
        (6, 6, RowProblem.MALFORMED),
    ]
    assert bad[0].reason.startswith("not valid JSON")
    assert bad[1].reason == "not a JSON object"
    assert bad[2].reason == "field 'name' is a list, not a text or number"
    assert str(bad[0]).startswith("row 2: not valid JSON")


def test_rows_jsonl_overlong_line_and_bad_utf8_are_skipped(tmp_path: Path) -> None:
    huge = json.dumps({"destination": "0812345601", "name": "x" * MAX_LINE_BYTES, "code": 1})
    path = write(
        tmp_path,
        "c.jsonl",
        huge.encode()
        + b'\n{"destination": "0812345602", "name": "\xff", "code": 2}\n'
        + b'{"destination": "0812345603", "name": "Cita", "code": 3}\n',
    )
    results = list(RowReader(TEMPLATE).read_jsonl(path))
    assert [(r.row, getattr(r, "reason", None)) for r in results] == [
        (1, f"line longer than {MAX_LINE_BYTES} bytes"),
        (2, "not UTF-8 text"),
        (3, None),
    ]


# -- iterables ---------------------------------------------------------------------------------


def test_rows_iterable_is_read_lazily() -> None:
    def backend() -> Iterator[dict[str, object]]:
        for i in itertools.count():
            yield {"phone": f"+62 812 3400 {i:04d}", "name": f"n{i}", "code": i}

    rows = list(itertools.islice(RowReader(TEMPLATE).read_records(backend()), 3))
    assert [(r.row, r.line, r.destination, r.text) for r in accepted(rows)] == [
        (1, None, "628123400" + "0000", "Hi n0, your code 0"),
        (2, None, "628123400" + "0001", "Hi n1, your code 1"),
        (3, None, "628123400" + "0002", "Hi n2, your code 2"),
    ]


def test_rows_iterable_bad_items_are_row_errors() -> None:
    records: list[object] = [
        "0812345601",
        {"name": "Ayu", "code": 1},
        {"destination": "0812345603", "name": "Cita", "code": 3},
    ]
    results = list(RowReader(TEMPLATE).read_records(records))  # type: ignore[arg-type]
    assert [(r.row, r.problem, r.reason) for r in errors(results)] == [
        (1, RowProblem.MALFORMED, "not a mapping but str"),
        (2, RowProblem.INVALID, "no destination"),
    ]
    assert [r.row for r in accepted(results)] == [3]


# -- missing fields, duplicates, the edge ------------------------------------------------------


def test_rows_missing_template_field_names_field_and_row() -> None:
    records = [{"destination": "0812345601"}, {"destination": "0812345602", "name": "Budi"}]
    results = list(RowReader(TEMPLATE).read_records(records))
    assert [str(e) for e in errors(results)] == [
        "row 1: no value for the template fields 'name', 'code'",
        "row 2: no value for the template field 'code'",
    ]
    assert all(e.problem is RowProblem.MISSING_FIELD for e in errors(results))


def test_rows_duplicates_are_dropped_in_any_spelling() -> None:
    records = [
        {"destination": "0812-3456-7890", "name": "Ayu", "code": 1},
        {"destination": "+62 812 3456 7890", "name": "Ayu", "code": 2},
        {"destination": "6281234567890", "name": "Ayu", "code": 3},
        {"destination": "0812-3456-7891", "name": "Budi", "code": 4},
    ]
    reader = RowReader(TEMPLATE)
    results = list(reader.read_records(records))
    assert [r.row for r in accepted(results)] == [1, 4]
    assert [(e.row, e.problem, e.value) for e in errors(results)] == [
        (2, RowProblem.DUPLICATE, "6281234567890"),
        (3, RowProblem.DUPLICATE, "6281234567890"),
    ]
    assert (reader.counts.accepted, reader.counts.duplicate) == (2, 2)


def test_rows_duplicate_of_a_refused_row_is_accepted() -> None:
    records = [
        {"destination": "0812-3456-7890", "name": "Ayu"},  # no code: refused, not remembered
        {"destination": "6281234567890", "name": "Ayu", "code": 2},
    ]
    results = list(RowReader(TEMPLATE).read_records(records))
    assert [r.row for r in accepted(results)] == [2]


def test_rows_duplicates_across_sources_of_one_reader(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "destination,name,code\n0812345678,Ayu,1\n")
    reader = RowReader(TEMPLATE)
    first = list(reader.read_csv(path))
    again = list(reader.read_records([{"phone": "62812345678", "name": "Ayu", "code": 1}]))
    assert len(accepted(first)) == 1
    assert [e.problem for e in errors(again)] == [RowProblem.DUPLICATE]


def test_rows_template_error_is_raised_before_the_source_is_touched(tmp_path: Path) -> None:
    with pytest.raises(CampaignInputError, match="not a plain name"):
        RowReader("Hi {user.name}").read_csv(tmp_path / "does-not-exist.csv")


def test_rows_reader_repr_does_not_dump_the_seen_set() -> None:
    reader = RowReader("Hi {name}", seen=set(range(10_000)))
    assert len(repr(reader)) < 300
