"""Which pool a worker command line asks for by name (celeryconfig chooses threads otherwise)."""

from __future__ import annotations

import pytest

from nusaworker.celery import explicit_pool


@pytest.mark.parametrize(
    ("argv", "pool"),
    [
        (["celery", "-A", "nusaworker", "worker"], None),
        (["celery", "-A", "nusaworker", "worker", "--pool", "prefork"], "prefork"),
        (["celery", "-A", "nusaworker", "worker", "--pool=prefork", "-c", "4"], "prefork"),
        (["celery", "-A", "nusaworker", "worker", "-P", "threads"], "threads"),
        (["celery", "-A", "nusaworker", "worker", "-Pprefork"], "prefork"),
        (["celery", "-A", "nusaworker", "worker", "-Q", "otp", "--pool"], None),
    ],
)
def test_explicit_pool_reads_every_spelling_of_the_option(
    argv: list[str], pool: str | None
) -> None:
    assert explicit_pool(argv) == pool
