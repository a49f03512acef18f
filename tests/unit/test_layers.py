"""The layer contracts cover the whole package: a new module cannot slip outside them."""

from __future__ import annotations

import pkgutil
import re
import tomllib
from pathlib import Path

import nusaworker

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads(PYPROJECT.read_text())
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _top_level_modules() -> set[str]:
    return {f"nusaworker.{m.name}" for m in pkgutil.iter_modules(nusaworker.__path__)}


def test_layers_name_every_top_level_module_but_the_sandbox() -> None:
    layers = next(c for c in _contracts() if c["type"] == "layers")
    named = set(re.findall(r"nusaworker\.\w+", " ".join(layers["layers"])))  # type: ignore[arg-type]
    assert _top_level_modules() - {"nusaworker.sandbox"} == named


def test_layers_sandbox_is_forbidden_every_other_module() -> None:
    alone = next(c for c in _contracts() if c.get("source_modules") == ["nusaworker.sandbox"])
    assert set(alone["forbidden_modules"]) == _top_level_modules() - {"nusaworker.sandbox"}  # type: ignore[arg-type]


def test_layers_product_never_imports_tools() -> None:
    tools = {"nusaworker.sandbox", "nusaworker.bench", "nusaworker.demo", "nusaworker.testing"}
    product = next(c for c in _contracts() if set(c.get("forbidden_modules", [])) == tools)  # type: ignore[arg-type]
    assert set(product["source_modules"]) == _top_level_modules() - tools - {"nusaworker.cli"}  # type: ignore[arg-type]
