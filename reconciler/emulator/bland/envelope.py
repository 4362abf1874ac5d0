"""Bland's answer envelope (`{data, errors}`) and its error codes (bland.md §10)."""

from __future__ import annotations

from reconciler.emulator.http import ApiError, Request, Response


def error(status: int, code: str, message: str) -> ApiError:
    """Return Bland's error answer with `code` and `message`."""
    return ApiError(status, {"data": None, "errors": [{"error": code, "message": message}]})


def invalid(message: str) -> ApiError:
    """Return Bland's 400 VALIDATION_ERROR."""
    return error(400, "VALIDATION_ERROR", message)


def ok(data: object, status: int = 200) -> Response:
    """Return a successful answer in Bland's envelope."""
    return Response(status, {"data": data, "errors": None})


def body_of(request: Request) -> object:
    """Return the request's JSON body, or Bland's 400 for one that is not JSON."""
    try:
        return request.json()
    except ApiError:
        raise invalid("Request body must be valid JSON") from None
