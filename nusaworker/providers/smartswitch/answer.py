"""Read a SmartSwitch answer into per-destination results, or the error of the whole hit.

Pure functions of the answer's status and bytes (unit-tested without a socket).

Which row belongs to which destination: by the echoed ``meta.request_id`` first (the client
sends one per destination); a row without a usable one by its ``destination_number``, then by
its position. A destination no row names is ``"unknown"`` (it may have been sent); a row that
names no destination of the request makes the whole answer unreadable.

Per-destination error details are not in the document (its ``errors`` objects describe a whole
request). They are read, tolerantly, from the row's ``meta.error`` (the sandbox's shape), a
``meta.errors`` list, or ``code``/``title``/``detail`` among its attributes or meta.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..classify import Redact, load_json, shorten, unredacted
from ..errors import ProviderError
from .codes import error_class
from .models import ApiError, Document, Resource
from .results import BatchResult, DestinationResult, Status

__all__ = ["OK_SPELLINGS", "error_for_errors", "read_answer", "read_error_answer", "status_of"]

# "ok" as the examples write it, "\u043e\u043a" (Cyrillic o + k) as the attribute table does,
# and the two mixes a copy-paste can produce.
_O, _K = ("o", "\u043e"), ("k", "\u043a")
OK_SPELLINGS = frozenset(o + k for o in _O for k in _K)


def status_of(text: str | None) -> Status:
    """The normalised status of a row: ``ok``, ``error``, or ``unknown`` for anything else."""
    word = (text or "").strip().lower()
    if word in OK_SPELLINGS:
        return "ok"
    if word == "error":
        return "error"
    return "unknown"


def _document(body: bytes) -> Document:
    data = load_json(body)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return Document.model_validate(data)


def error_for_errors(
    errors: Sequence[ApiError], status_code: int, *, redact: Redact = unredacted
) -> ProviderError:
    """The error of a whole hit answered with ``errors``: the first error's code decides."""
    first = errors[0] if errors else ApiError()
    words = " — ".join(t for t in (first.title, first.detail) if t) or "request refused"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    detail = shorten(redact(f"HTTP {status_code} {first.code or 'error'}: {words}{more}"))
    cls = error_class(first.code, status_code=status_code)
    return cls(detail, status_code=status_code)


def read_error_answer(
    status_code: int, body: bytes, *, redact: Redact = unredacted
) -> ProviderError | None:
    """The error a non-2xx answer with a JSON:API ``errors`` body stands for; ``None`` when the
    body is something else (an HTML page from a proxy…): the HTTP status then decides."""
    try:
        document = _document(body)
    except ValueError:
        return None
    if document.errors is None:
        return None
    return error_for_errors(document.errors, status_code, redact=redact)


def _row_error(row: Resource) -> ApiError:
    meta = row.meta
    nested = meta.get("error")
    if isinstance(nested, Mapping):
        return ApiError.model_validate(nested)
    listed = meta.get("errors")
    if isinstance(listed, list) and listed and isinstance(listed[0], Mapping):
        return ApiError.model_validate(listed[0])
    extra: dict[str, Any] = {**(row.attributes.model_extra or {}), **meta}
    return ApiError.model_validate(
        {k: extra.get(k) for k in ("code", "title", "detail") if isinstance(extra.get(k), str)}
    )


def _match(
    rows: list[Resource], destinations: Sequence[str], request_ids: Sequence[str]
) -> list[Resource | None]:
    slots: list[Resource | None] = [None] * len(destinations)
    by_id = {request_id: i for i, request_id in enumerate(request_ids)}
    pending: list[tuple[int, Resource]] = []
    for position, row in enumerate(rows):
        echoed = row.meta.get("request_id")
        index = by_id.get(str(echoed)) if echoed is not None else None
        if index is not None and slots[index] is None:
            slots[index] = row
        else:
            pending.append((position, row))
    for position, row in pending:
        number = (row.attributes.destination_number or "").strip().removeprefix("+")
        same = [i for i, d in enumerate(destinations) if d == number and slots[i] is None]
        if same:
            index = position if position in same else same[0]
        elif position < len(slots) and slots[position] is None and not number:
            index = position
        else:
            raise ValueError(f"answer row {position} names no destination of the request")
        slots[index] = row
    return slots


def read_answer(
    status_code: int,
    body: bytes,
    destinations: Sequence[str],
    request_ids: Sequence[str],
    *,
    redact: Redact = unredacted,
) -> BatchResult:
    """The per-destination results of a 2xx answer, in the order of ``destinations``.

    Raises the taxonomy error of an ``errors`` answer (a whole-hit failure), and
    :class:`ValueError` for an answer that cannot be read (the transport makes that an
    :class:`~nusaworker.providers.errors.AmbiguousOutcome`: the provider may have sent).
    """
    document = _document(body)
    if document.errors is not None:
        raise error_for_errors(document.errors, status_code, redact=redact)
    slots = _match(document.rows(), destinations, request_ids)
    results = []
    for number, request_id, row in zip(destinations, request_ids, slots, strict=True):
        if row is None:
            results.append(
                DestinationResult(destination=number, status="unknown", request_id=request_id)
            )
            continue
        status = status_of(row.attributes.status)
        problem = _row_error(row) if status == "error" else ApiError()
        results.append(
            DestinationResult(
                destination=number,
                status=status,
                request_id=request_id,
                id=row.id,
                segments=max(0, row.attributes.segments),
                error_code=problem.code,
                error_title=problem.title,
                error_detail=problem.detail,
            )
        )
    return BatchResult(results=tuple(results))
