"""One container per process: built once, and again in a process forked after it was built."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nusaworker import container
from nusaworker.settings import Settings


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    made: list[object] = []

    def build(settings: Settings, *, send_task: Any) -> object:
        made.append(object())
        return made[-1]

    monkeypatch.setattr(container.Container, "build", staticmethod(build))
    monkeypatch.setattr(container, "_current", None)
    monkeypatch.setattr(container, "_built_in", None)
    monkeypatch.setattr(container.sys, "setswitchinterval", lambda interval: None)
    yield made


def test_container_install_builds_once_per_process(
    builds: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container.os, "getpid", lambda: 100)
    assert container.built() is None
    first = container.install(Settings(), send_task=print)
    assert container.install(Settings(), send_task=print) is first
    assert container.current() is first and container.built() is first
    assert len(builds) == 1


def test_container_of_the_parent_is_not_used_by_a_forked_child(
    builds: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container.os, "getpid", lambda: 100)
    parent = container.install(Settings(), send_task=print)
    monkeypatch.setattr(container.os, "getpid", lambda: 101)  # a child forked afterwards

    assert container.built() is None
    child = container.install(Settings(), send_task=print)

    assert child is not parent and len(builds) == 2
