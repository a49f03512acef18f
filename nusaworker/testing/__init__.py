"""Helpers shared by the test suite, ``make demo`` and ``make bench`` (tools: product code never
imports them).

- ``waiting``: ``wait_for``, polling a condition instead of sleeping for a guessed time
- ``clock``: ``FakeClock`` and ``T0``, a clock the test moves or the code under test sleeps on
- ``receiver``: ``Receiver``, a real HTTP endpoint in a thread that records what it got
- ``fleet``: real ``celery worker``/``beat`` processes; ``Fleet.drain`` waits until they settle
- ``redis_server``: a Redis that answers, or a private ``redis-server``
- ``browser``: ``Chromium``, a real headless browser for what a person sees (the status page)
"""
