"""Deadlines for HTTP requests: one for each attempt, enforced on its sockets, and a caller's.

httpx's timeouts bound each socket operation, so a server that sends a byte a second never
trips them. Here every socket operation of an attempt gets only what is left of the attempt
(`_DeadlineBackend`, installed under httpx's own transport by `deadline_transport`), so
`timeout_s` bounds connect, send, headers and the whole body together.

A caller may also set a deadline for everything it does (`deadline()`: `status --timeout`).
It is context-scoped, so it follows one command's calls into the providers without a
parameter on every Provider method; pools that fan calls out run them `in_context()`.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpcore
import httpx

R = TypeVar("R")


@dataclass(frozen=True, slots=True, kw_only=True)
class Deadline:
    """A moment (on `time.monotonic()`) by which a caller wants every request settled."""

    at: float
    what: str  # names it in messages: "status --timeout 600"


# The caller's deadline (status --timeout). Pools that fan calls out
# (live.gather_live_state, http.gather) run each call in a copy of the context.
_deadline: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "reconciler_deadline", default=None
)
# When the socket operations of the attempt in progress on this thread must end (monotonic).
_io_end: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "reconciler_io_end", default=None
)


@contextmanager
def deadline(at: float, *, what: str) -> Iterator[None]:
    """Run the block under a deadline: its requests end by `at` plus their own `timeout_s`.

    No retry waits past that moment, and each attempt gets only what is left of it, so a
    request that starts just before `at` may still take its one `timeout_s`.
    """
    token = _deadline.set(Deadline(at=at, what=what))
    try:
        yield
    finally:
        _deadline.reset(token)


def in_context(fn: Callable[..., R]) -> Callable[..., R]:
    """Return `fn` bound to the caller's context (its deadline), to run on a pool's thread."""
    context = contextvars.copy_context()

    def run(*args: Any, **kwargs: Any) -> R:
        return context.copy().run(fn, *args, **kwargs)

    return run


def current_deadline() -> Deadline | None:
    """Return the caller's deadline, if one is set."""
    return _deadline.get()


@contextmanager
def attempt_deadline(limit_s: float) -> Iterator[None]:
    """Give every socket operation in the block only what is left of `limit_s` from now."""
    token = _io_end.set(time.monotonic() + limit_s)
    try:
        yield
    finally:
        _io_end.reset(token)


def _left(timeout: float | None, timed_out: type[Exception]) -> float | None:
    """Shorten one socket operation's timeout to what is left of the attempt."""
    end = _io_end.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise timed_out("the request's time limit passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write gets at most what is left of the attempt."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        wrapped = self._inner.start_tls(
            ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(wrapped)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend, its connections bounded by the attempt's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host,
            port,
            _left(timeout, httpcore.ConnectTimeout),
            local_address,
            socket_options,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _left(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(transport: httpx.HTTPTransport) -> httpx.HTTPTransport:
    """Make every socket operation of `transport` honour the attempt's deadline; return it.

    httpx offers no way to pass httpcore a network backend, so this sets the pool's one
    (`_pool._network_backend`, the same attribute for direct, HTTP- and SOCKS-proxy pools).
    tests/providers/test_deadlines.py fails if a new httpx or httpcore moves it.
    """
    pool = transport._pool
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return transport
