"""Route table of the provider paths: method + path pattern → handler and hit kind."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .accounts import Account
from .callbacks import Pusher
from .state import SandboxState
from .wire import Request, Response


@dataclass(frozen=True)
class Ctx:
    """What a handler may use: the shared state and the push queue."""

    state: SandboxState
    pusher: Pusher


Handler = Callable[[Ctx, Request, dict[str, str]], Response]
# Who a request authenticates as, for providers whose credentials are not NusaSMS's (an APIKey
# header or SMS user/password): e.g. a login in the query string, or a token from a login call.
Resolver = Callable[[SandboxState, Request], Account | None]


@dataclass(frozen=True)
class Route:
    """One provider endpoint."""

    methods: frozenset[str]
    pattern: re.Pattern[str]
    handler: Handler
    kind: str  # "send" | "read" | "other": how the hit is classified
    resolve: Resolver | None = None  # None: SandboxState.resolve (APIKey, SMS user/password)
    paced: bool = True  # judged by the gap rule (a provider without the 50 ms rule: False)


def route(
    methods: str,
    pattern: str,
    handler: Handler,
    kind: str,
    *,
    resolve: Resolver | None = None,
    paced: bool = True,
) -> Route:
    """Build a route; ``pattern`` uses ``{name}`` for one path segment."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
    return Route(
        frozenset(methods.split()), re.compile(f"^{regex}$"), handler, kind, resolve, paced
    )


class Router:
    """Finds the route of a request, telling "no such path" (404) from "wrong method" (405)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = list(routes)

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """``(route, path params, path exists)``; route is None for 404 and 405."""
        known = False
        for candidate in self._routes:
            found = candidate.pattern.match(path)
            if found is None:
                continue
            known = True
            if method in candidate.methods:
                return candidate, found.groupdict(), True
        return None, {}, known
