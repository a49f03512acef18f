"""RELIABILITY.md's table: rendered from the scenario figures, spliced between its markers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nusaworker.testing.reliability import (
    BEGIN,
    END,
    mark_passed,
    render_table,
    splice,
    write_scenario,
)

FIGURES = {
    "scenario": "soak",
    "date": "2026-12-03 14:00",
    "injected": "5 worker SIGKILLs | 1 Redis restart",
    "messages_in": 100000,
    "messages_out": 99998,
    "duplicates": 0,
    "otp_resent": 1,
    "lost": 0,
    "unknown": 2,
    "violations": 0,
    "verdict": "passed",
    "notes": "40.1 sends/s",
}


def test_render_table_one_row_per_scenario_numbers_grouped_pipes_escaped() -> None:
    table = render_table([FIGURES, {**FIGURES, "scenario": "chaos-one-account"}]).splitlines()
    assert len(table) == 4
    assert table[0].startswith("| scenario | run (UTC) | injected | in | out |")
    assert "| 100,000 | 99,998 | 0 | 1 | 0 | 2 | 0 | passed | 40.1 sends/s |" in table[2]
    assert "5 worker SIGKILLs \\| 1 Redis restart" in table[2]
    assert table[3].startswith("| chaos-one-account |")


def test_splice_replaces_only_the_text_between_the_markers() -> None:
    document = f"# Reliability\n\nprose\n{BEGIN}\nold table\n{END}\n\nmore prose\n"
    spliced = splice(document, "| new |")
    assert spliced == f"# Reliability\n\nprose\n{BEGIN}\n| new |\n{END}\n\nmore prose\n"
    assert splice(spliced, "| newer |").count("| newer |") == 1


def test_splice_refuses_a_document_without_markers() -> None:
    with pytest.raises(ValueError, match="markers"):
        splice("# Reliability\n", "| t |")


def test_write_scenario_is_failed_until_marked_passed(tmp_path: Path) -> None:
    figures = {k: v for k, v in FIGURES.items() if k not in {"scenario", "date", "verdict"}}
    path = write_scenario("soak", figures, directory=tmp_path)
    assert json.loads(path.read_text())["verdict"].startswith("FAILED")
    mark_passed(path)
    assert json.loads(path.read_text())["verdict"] == "passed"
    with pytest.raises(ValueError, match="lacks figures"):
        write_scenario("soak", {"messages_in": 1}, directory=tmp_path)
