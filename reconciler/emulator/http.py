"""The few HTTP values the emulator's vendor APIs work with, independent of the server."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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
