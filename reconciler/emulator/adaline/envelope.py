"""Adaline's error envelope (`{error: {code, message, details}}`) and id checks (§5, §13.3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.emulator.http import ApiError

ID_MIN, ID_MAX = 20, 80


def error(
    status: int, code: str, message: str, details: Sequence[Mapping[str, str]] | None = None
) -> ApiError:
    """Return Adaline's error answer."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = [dict(d) for d in details]
    return ApiError(status, {"error": body})


def invalid(field: str, issue: str) -> ApiError:
    """Return Adaline's 400 VALIDATION_ERROR about one field."""
    return error(400, "VALIDATION_ERROR", f"{field}: {issue}", [{"field": field, "issue": issue}])


def not_found(what: str) -> ApiError:
    """Return Adaline's 404 RESOURCE_NOT_FOUND."""
    return error(404, "RESOURCE_NOT_FOUND", f"{what} not found")


def id_issue(value: object) -> str | None:
    """Return what is wrong with an id, or None."""
    if not isinstance(value, str):
        return "must be a string"
    if not ID_MIN <= len(value) <= ID_MAX:
        return f"must be {ID_MIN}-{ID_MAX} characters long"
    return None


def check_id(field: str, value: object) -> str:
    """Return `value`, or raise the 400 an ill-formed id gets."""
    issue = id_issue(value)
    if issue is not None:
        raise invalid(field, issue)
    assert isinstance(value, str)
    return value
