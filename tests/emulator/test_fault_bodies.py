"""Injected 429s and 5xx answer in each vendor's own error shape, as the real one would."""

from __future__ import annotations

import httpx
import pytest

from reconciler import emulator

ROUTES = {
    "bland": ("/v1/evals/runs", "key"),
    "adaline": ("/v2/prompts/prompt_checkout_assistant_0001/evaluations", "Bearer key"),
    "arize": ("/v2/tasks/T25saW5lVGFzazoxOnNlZWQ=/runs", "Bearer key"),
}


def _get(url: str, vendor: str) -> httpx.Response:
    path, auth = ROUTES[vendor]
    return httpx.get(url + path, headers={"authorization": auth})


@pytest.mark.parametrize("vendor", sorted(ROUTES))
def test_an_injected_429_has_the_vendors_body_and_a_retry_after(start_emulator, vendor):
    """Rate limited: status 429, integer Retry-After, and the body the vendor's page shows."""
    response = _get(start_emulator(seed=1, faults=emulator.Faults(rate_429=1.0)), vendor)
    assert 429 == response.status_code
    assert response.headers["retry-after"].isdigit()
    body = response.json()
    shape = {
        "bland": lambda b: b["errors"][0]["error"],
        "adaline": lambda b: b["error"]["code"],
        "arize": lambda b: b["status"],
    }[vendor](body)
    assert {"bland": "RATE_LIMITED", "adaline": "RATE_LIMITED", "arize": 429}[vendor] == shape


@pytest.mark.parametrize("vendor", sorted(ROUTES))
def test_an_injected_server_error_has_the_vendors_body(start_emulator, vendor):
    """A 5xx carries the vendor's envelope (Arize: problem+json), not a generic one."""
    response = _get(start_emulator(seed=1, faults=emulator.Faults(rate_5xx=1.0)), vendor)
    assert 500 <= response.status_code < 600
    body = response.json()
    if vendor == "arize":
        assert response.headers["content-type"] == "application/problem+json"
        assert response.status_code == body["status"]
    elif vendor == "adaline":
        assert "INTERNAL_ERROR" == body["error"]["code"]
    else:
        assert "INTERNAL_ERROR" == body["errors"][0]["error"]
