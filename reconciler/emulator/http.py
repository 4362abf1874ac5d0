"""The few HTTP values the emulator's vendor APIs work with, independent of the server."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed request: method, path without query, single-valued query, headers, body."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""

    def json(self) -> Any:
        """Return the body as JSON, or raise a 400 ApiError in the generic envelope."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, {"error": "invalid JSON body"}) from None


@dataclass(frozen=True, slots=True)
class Response:
    """A JSON answer."""

    status: int
    body: object
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class ApiError(Exception):
    """An error answer: raised by a vendor API, written by the server as it is."""

    def __init__(
        self,
        status: int,
        body: object,
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        super().__init__(status)
        self.response = Response(status, body, dict(headers or {}), content_type)


class VendorApi(Protocol):
    """One vendor's API inside the emulator: the server routes by path and applies faults."""

    def handles(self, path: str) -> bool:
        """Say whether `path` (no query) belongs to this API."""
        ...

    def is_create(self, request: Request) -> bool:
        """Say whether `request` creates a run (the target of the lost-create fault)."""
        ...

    def handle(self, request: Request) -> Response:
        """Answer one request, or raise ApiError with the vendor's error body."""
        ...

    def fault(self, status: int, request: Request) -> Response:
        """Return the vendor's own error answer for an injected 429 or 5xx."""
        ...
