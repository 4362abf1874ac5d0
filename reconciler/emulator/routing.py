"""The emulator's one route table, built from the routes each registered vendor exposes.

A vendor API lists its routes (`method`, a path template such as `/v2/tasks/{task_id}/runs`,
a handler); the server builds one `RouteTable` from every registered vendor and, for each
request, finds the vendor that owns the path (its mounts) and the route that matches. The
vendor then answers: it checks the caller first (each vendor has its own 401), and words a
miss its own way (Bland and Adaline 404, Arize 405 with `Allow` for a known path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from reconciler.emulator.http import Request, Response


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One routed request: the request, the path parameters, and who the vendor says calls."""

    request: Request
    params: Mapping[str, str]
    caller: str  # the organisation, workspace or user the vendor derived from the key


Handler = Callable[[Call], Response]


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """One vendor route: `path` is a template whose `{name}` segments become parameters."""

    method: str
    path: str
    handler: Handler
    creates: bool = False  # a create is what the lost-create fault swallows the answer of
    name: str = ""  # for a vendor's own rules about a route (Bland's ungated status)

    @property
    def segments(self) -> tuple[str, ...]:
        """Return the template split on `/`."""
        return tuple(self.path.strip("/").split("/"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """What the table found for a path: the route for the method, and the methods there are."""

    route: Route | None
    params: Mapping[str, str] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()  # methods the path answers (empty: no such path)

    def call(self, request: Request, caller: str) -> Response:
        """Run the matched route's handler (the caller made sure there is one)."""
        if self.route is None:
            raise LookupError(f"no route {request.method} {request.path}")
        return self.route.handler(Call(request=request, params=self.params, caller=caller))


def _bind(template: tuple[str, ...], parts: tuple[str, ...]) -> dict[str, str] | None:
    if len(template) != len(parts):
        return None
    params: dict[str, str] = {}
    for want, got in zip(template, parts, strict=True):
        if want.startswith("{") and want.endswith("}"):
            params[want[1:-1]] = got
        elif want != got:
            return None
    return params


def owns(mounts: Iterable[str], path: str) -> bool:
    """Say whether `path` is one of `mounts` or lies under one."""
    return any(path == m or path.startswith(m + "/") for m in mounts)


@dataclass(frozen=True, slots=True)
class RouteTable:
    """Every registered vendor's routes, by the mounts (path prefixes) that vendor owns."""

    entries: tuple[tuple[str, tuple[str, ...], tuple[Route, ...]], ...]  # (vendor, mounts, routes)

    @classmethod
    def build(cls, vendors: Iterable[tuple[str, tuple[str, ...], Iterable[Route]]]) -> RouteTable:
        """Build the table from (vendor name, mounts, routes) in registry order."""
        return cls(tuple((name, tuple(m), tuple(r)) for name, m, r in vendors))

    def find(self, method: str, path: str) -> tuple[str, Match] | None:
        """Return the vendor owning `path` and the match, or None when no vendor owns it."""
        for name, mounts, routes in self.entries:
            if not owns(mounts, path):
                continue
            parts = tuple(unquote(p) for p in path.strip("/").split("/"))
            found: Route | None = None
            params: Mapping[str, str] = {}
            allowed: list[str] = []
            for route in routes:
                bound = _bind(route.segments, parts)
                if bound is None:
                    continue
                allowed.append(route.method)
                if found is None and route.method == method:
                    found, params = route, bound
            return name, Match(route=found, params=params, allowed=tuple(sorted(set(allowed))))
        return None
