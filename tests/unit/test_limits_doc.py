"""docs/limits.md names every bound of nusaworker.limits with its figure."""

from __future__ import annotations

import re
from pathlib import Path

from nusaworker.limits import BOUNDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "limits.md"


def test_limits_doc_lists_every_bound_with_its_figure() -> None:
    rows = dict(re.findall(r"^\| `([a-z0-9_.]+)` \| ([0-9,]+) ", DOC.read_text(), re.M))
    assert {name: int(figure.replace(",", "")) for name, figure in rows.items()} == {
        name: bound.limit for name, bound in BOUNDS.items()
    }
