"""Helpers shared by the test suite, ``make demo`` and ``make bench``: a Redis that answers."""
