"""What a vendor of the emulator is: the `VendorApi` protocol and its registration.

A vendor is one package under `reconciler/emulator/` exposing a `VENDOR` (a `Vendor`): its
name, the path prefixes it owns and a factory that builds its API over the shared `Setting`.
`registry.py` lists the vendors; the server builds one route table from them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from reconciler.emulator.http import Request, Response
from reconciler.emulator.routing import Match, Route


@dataclass(frozen=True, slots=True, kw_only=True)
class Setting:
    """What every vendor API is built over: the shared database, its lock, seed and clock."""

    db: sqlite3.Connection
    lock: threading.Lock
    seed: int
    time_scale: float
    clock: Callable[[], float]
    list_order: str = "newest"
    omit_dataset_id: bool = False  # Adaline's option (adaline.md §2); others ignore it


class VendorApi(Protocol):
    """One vendor's API inside the emulator: its routes, how it answers, its fault bodies."""

    def routes(self) -> Sequence[Route]:
        """Return the routes this API serves (path templates under its mounts)."""
        ...

    def answer(self, request: Request, match: Match) -> Response:
        """Check the caller, then run the matched route or answer the vendor's own miss.

        Raise ApiError with the vendor's error body, as a handler does.
        """
        ...

    def fault(self, status: int, request: Request) -> Response:
        """Return the vendor's own error answer for an injected 429 or 5xx."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Vendor:
    """A vendor's registration: its name, the path prefixes it owns, and its API factory."""

    name: str
    mounts: tuple[str, ...]
    build: Callable[[Setting], VendorApi]
