"""Small helpers every Redis-backed module shares: the Lua scripts shipped in a package's
``lua/`` folder, and Redis replies as text (clients may or may not decode responses)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any


@cache
def lua(package: str, name: str) -> str:
    """The source of ``<package>/lua/<name>.lua``, read once per process."""
    return (files(package) / "lua" / f"{name}.lua").read_text(encoding="utf-8")


def as_text(value: Any) -> str:
    """A Redis reply as ``str``, whether the client decodes responses or not."""
    return value.decode() if isinstance(value, bytes) else str(value)
