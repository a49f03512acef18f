"""The figures of the failure runs (``make chaos``, ``make soak``) and the table of RELIABILITY.md.

Each run writes one JSON file per scenario (:func:`write_scenario`, then :func:`mark_passed`
once its assertions held) under
``bench-results/reliability/``; ``python -m nusaworker.testing.reliability`` renders them into
the table between the two markers of ``RELIABILITY.md`` and leaves the prose around it alone.
A scenario's file is replaced by its next run, so the table is always the last run of each.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nusaworker.testing.fleet import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "bench-results" / "reliability"
DOCUMENT = REPO_ROOT / "RELIABILITY.md"
BEGIN = "<!-- reliability-table:begin (python -m nusaworker.testing.reliability) -->"
END = "<!-- reliability-table:end -->"

# Column title → figure key, in order. Every scenario file carries each of these.
COLUMNS = {
    "scenario": "scenario",
    "run (UTC)": "date",
    "injected": "injected",
    "in": "messages_in",
    "out": "messages_out",
    "duplicates": "duplicates",
    "OTP resent in doubt": "otp_resent",
    "lost": "lost",
    "unknown": "unknown",
    "violations": "violations",
    "checks": "verdict",
    "figures": "notes",
}
# A run writes its figures before its assertions (so that a failed run is on record too) and
# marks them passed after the last one (:func:`mark_passed`).
UNCHECKED = "FAILED (see the run's output)"


def write_scenario(name: str, figures: Mapping[str, Any], directory: Path = RESULTS_DIR) -> Path:
    """Write one scenario's figures (stamped with the time now) to ``<directory>/<name>.json``."""
    given = {"scenario", "date", "verdict", *figures}
    missing = sorted(key for key in COLUMNS.values() if key not in given)
    if missing:
        raise ValueError(f"scenario {name!r} lacks figures {missing}")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    stamped = {"scenario": name, "date": now, "verdict": UNCHECKED, **figures}
    path.write_text(json.dumps(stamped, indent=2, sort_keys=True) + "\n")
    return path


def mark_passed(path: Path) -> None:
    """Note in a scenario file that every assertion of its run held."""
    figures = json.loads(path.read_text())
    figures["verdict"] = "passed"
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


def _cell(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_table(scenarios: Sequence[Mapping[str, Any]]) -> str:
    """The markdown table of ``scenarios``, one row each, in the order given."""
    numeric = set(list(COLUMNS.values())[3:-2])  # in … violations: right-aligned
    rule = ("--:" if key in numeric else "---" for key in COLUMNS.values())
    lines = ["| " + " | ".join(COLUMNS) + " |", "| " + " | ".join(rule) + " |"]
    for figures in scenarios:
        lines.append("| " + " | ".join(_cell(figures.get(k, "")) for k in COLUMNS.values()) + " |")
    return "\n".join(lines)


def load(directory: Path = RESULTS_DIR) -> list[dict[str, Any]]:
    """Every scenario file of ``directory``, chaos before soak, by name."""
    files = sorted(directory.glob("*.json"), key=lambda p: (p.stem.startswith("soak"), p.stem))
    return [json.loads(path.read_text()) for path in files]


def splice(document: str, table: str) -> str:
    """``document`` with the text between its markers replaced by ``table``."""
    head, begin, rest = document.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"RELIABILITY.md lacks the markers {BEGIN!r} … {END!r}")
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def main() -> int:
    scenarios = load()
    if not scenarios:
        print(f"no scenario files in {RESULTS_DIR}: run `make chaos` / `make soak` first")
        return 1
    DOCUMENT.write_text(splice(DOCUMENT.read_text(), render_table(scenarios)))
    print(f"{DOCUMENT}: {len(scenarios)} scenarios")
    return 0


if __name__ == "__main__":
    sys.exit(main())
