"""The exception tree drawn in nusaworker.errors is the tree in the code.

Every product module is imported; every exception class defined in one of them must derive from
NusaWorkerError, appear in the tree under its real parent with its real module, carry its own
``retryable`` (marked ``R`` in the tree when true) and a "Raised when …" docstring.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass

import pytest

import nusaworker
import nusaworker.errors
from nusaworker.errors import NusaWorkerError

# Tools, not the product: they may define exceptions of their own.
SKIPPED = ("nusaworker.sandbox", "nusaworker.bench", "nusaworker.testing", "nusaworker.demo")

_NODE = re.compile(
    r"^    (?P<pipes>[│ ]*)(?:[├└]── )?(?P<name>\w+)\s+(?P<r>R?)\s*(?P<module>nusaworker[\w.]*)\s"
)


@dataclass(frozen=True)
class Node:
    """One class as the docstring draws it."""

    parent: str | None
    module: str
    retryable: bool


def parse_tree(doc: str) -> dict[str, Node]:
    """The tree in ``doc``: each class line's name, parent (by indentation), module, R mark."""
    nodes: dict[str, Node] = {}
    stack: list[str] = []  # stack[d] = the last class drawn at depth d
    for line in doc.splitlines():
        match = _NODE.match(line)
        if match is None or ("──" not in line and match["pipes"]):
            continue
        depth = 0 if "──" not in line else len(match["pipes"]) // 4 + 1
        del stack[depth:]
        parent = stack[-1] if stack else None
        nodes[match["name"]] = Node(parent, match["module"], bool(match["r"]))
        stack.append(match["name"])
    return nodes


def product_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(nusaworker.__path__, "nusaworker.")
        if not info.name.startswith(SKIPPED)
    ]
    return ["nusaworker", *names]


def exception_classes() -> list[type[BaseException]]:
    """Every exception class defined (not just imported) in a product module."""
    found: dict[str, type[BaseException]] = {}
    for name in product_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return sorted(found.values(), key=lambda c: (c.__module__, c.__qualname__))


def problems(classes: list[type[BaseException]], tree: dict[str, Node]) -> list[str]:
    """What is wrong with ``classes`` against ``tree``; empty when all is well."""
    found: list[str] = []
    for cls in classes:
        name = f"{cls.__module__}.{cls.__qualname__}"
        if not issubclass(cls, NusaWorkerError):
            found.append(f"{name}: does not derive from NusaWorkerError")
        node = tree.get(cls.__name__)
        if node is None:
            found.append(f"{name}: missing from the tree in nusaworker.errors")
        else:
            parent = cls.__bases__[0].__name__ if cls is not NusaWorkerError else None
            if node.parent != parent:
                found.append(f"{name}: drawn under {node.parent}, derives from {parent}")
            if node.module != cls.__module__:
                found.append(f"{name}: drawn in {node.module}")
            if node.retryable != bool(getattr(cls, "retryable", False)):
                found.append(f"{name}: R mark disagrees with retryable")
        if "retryable" not in vars(cls):
            found.append(f"{name}: no retryable class attribute of its own")
        doc = inspect.getdoc(cls) if "__doc__" in vars(cls) and cls.__doc__ else ""
        if not doc or not doc.startswith("Raised when"):
            found.append(f"{name}: no 'Raised when …' docstring")
    return found


TREE = parse_tree(nusaworker.errors.__doc__ or "")
CLASSES = exception_classes()


def test_errors_tree_finds_the_product_exceptions() -> None:
    names = {c.__name__ for c in CLASSES}
    # Not vacuous: the walk reached the provider, ledger, tracking and credit errors.
    assert {"NusaWorkerError", "Fenced", "AmbiguousOutcome", "WebhookRefused"} <= names
    assert not any(c.__module__.startswith(SKIPPED) for c in CLASSES)


def test_errors_tree_matches_every_exception_class() -> None:
    assert problems(CLASSES, TREE) == []


def test_errors_tree_draws_no_class_that_does_not_exist() -> None:
    assert set(TREE) == {c.__name__ for c in CLASSES}


def test_errors_tree_parses_the_drawing() -> None:
    assert TREE["NusaWorkerError"] == Node(None, "nusaworker.errors", False)
    assert TREE["WebhookRefused"] == Node("WebhookFailed", "nusaworker.tracking.errors", False)
    assert TREE["RateLimited"] == Node("ProviderError", "nusaworker.providers.errors", True)


class _Stray(Exception):
    pass


class _Undrawn(NusaWorkerError):
    """Raised when a test needs an exception the tree does not show."""

    retryable = False


class _Misplaced(NusaWorkerError):
    retryable = True


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (_Stray, "does not derive from NusaWorkerError"),
        (_Stray, "no retryable class attribute"),
        (_Undrawn, "missing from the tree"),
        (_Misplaced, "no 'Raised when"),
    ],
)
def test_errors_tree_check_fails_for_a_bad_class(cls: type[BaseException], expected: str) -> None:
    assert any(expected in p for p in problems([cls], TREE))


def test_errors_tree_check_fails_for_a_wrong_drawing() -> None:
    wrong = dict(TREE)
    wrong["Fenced"] = Node("ProviderError", "nusaworker.ledger.errors", False)
    wrong["RateLimited"] = Node("ProviderError", "nusaworker.errors", False)
    found = problems(CLASSES, wrong)
    assert any("Fenced: drawn under ProviderError" in p for p in found)
    assert any("RateLimited: drawn in nusaworker.errors" in p for p in found)
    assert any("RateLimited: R mark" in p for p in found)
