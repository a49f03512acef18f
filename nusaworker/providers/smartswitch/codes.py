"""SmartSwitch error codes (JSON:API ``errors[].code``) → the one error taxonomy.

The document (seed 003) names one code, ``authentication``, and says codes are short,
locale-independent and meant for "conditional error handling". Every other code here is an
assumption (written down in ``docs/providers/smartswitch.md``): the names the sandbox answers
with, chosen to read like the documented one. A code nobody knows is judged by the HTTP status
of its answer (a 5xx stays transient); in a 2xx, or for one destination's row, it is permanent.
"""

from __future__ import annotations

from ..errors import (
    AuthError,
    InsufficientCredit,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
    class_for_status,
)

__all__ = ["ERROR_CODES", "error_class"]

ERROR_CODES: dict[str, type[ProviderError]] = {
    # Documented: {"code": "authentication", "title": "Authentication error"}.
    "authentication": AuthError,
    # Assumed (the document is silent on every code below).
    "balance": InsufficientCredit,
    "validation": PermanentError,
    "destination_number": PermanentError,
    "rejected": PermanentError,
    "throttling": RateLimited,
    "internal": TransientError,
}


def error_class(code: str | None, *, status_code: int | None = None) -> type[ProviderError]:
    """The class an error code stands for; an unknown code falls back on ``status_code``.

    Codes are compared lower-cased and trimmed. Without a known code, a non-2xx status decides
    as for any provider (a 503 stays retryable); otherwise the refusal is permanent.
    """
    known = ERROR_CODES.get((code or "").strip().lower())
    if known is not None:
        return known
    if status_code is not None:
        by_status = class_for_status(status_code, is_send=True)
        if by_status is not None:
            return by_status
    return PermanentError
