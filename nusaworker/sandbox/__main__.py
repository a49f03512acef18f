"""``python -m nusaworker.sandbox``: see :mod:`nusaworker.sandbox.cli`.

``main`` is importable from here too (the project CLI delegates to it); the sandbox only
starts when this module runs as a script.
"""

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
