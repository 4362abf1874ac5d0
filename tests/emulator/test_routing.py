"""The emulator's one route table: vendors registered as packages, all served from the root URL."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import httpx
import pytest

from reconciler import emulator
from reconciler.emulator.base import Setting, Vendor
from reconciler.emulator.http import ApiError, Request, Response
from reconciler.emulator.registry import VENDORS
from reconciler.emulator.routing import Call, Match, Route

BLAND_KEY = "test-key"
BEARER = {"authorization": "Bearer test-key"}


class LedgerApi:
    """A fourth vendor as small as one can be: list and create runs under /v1/ledger."""

    def __init__(self, setting: Setting) -> None:
        self._runs: list[dict[str, object]] = []
        self._clock = setting.clock

    def routes(self) -> Sequence[Route]:
        return (
            Route(method="GET", path="/v1/ledger/runs", handler=self._list),
            Route(method="POST", path="/v1/ledger/runs", handler=self._create, creates=True),
        )

    def answer(self, request: Request, match: Match) -> Response:
        if request.headers.get("x-ledger-key") is None:
            raise ApiError(401, {"ledger_error": "no key"})
        if match.route is None:
            raise ApiError(404, {"ledger_error": f"nothing at {request.path}"})
        return match.call(request, request.headers["x-ledger-key"])

    def fault(self, status: int, request: Request) -> Response:
        return Response(status, {"ledger_error": "injected"})

    def _list(self, call: Call) -> Response:
        return Response(200, {"runs": [r for r in self._runs if r["owner"] == call.caller]})

    def _create(self, call: Call) -> Response:
        run = {"id": f"run-{len(self._runs) + 1}", "owner": call.caller}
        self._runs.append(run)
        return Response(201, run)


LEDGER = Vendor(name="ledger", mounts=("/v1/ledger",), build=LedgerApi)


class TestAFourthVendor:
    def test_a_registered_package_is_served_beside_the_three_from_the_root_url(self):
        """One more registry entry: its routes answer, and Bland, Adaline and Arize still do."""
        with (
            emulator.serve_in_thread(seed=7, vendors={**VENDORS, "ledger": LEDGER}) as url,
            httpx.Client(base_url=url, timeout=10) as http,
        ):
            made = http.post("/v1/ledger/runs", headers={"x-ledger-key": "k"})
            listed = http.get("/v1/ledger/runs", headers={"x-ledger-key": "k"})
            unknown = http.get("/v1/ledger/nothing", headers={"x-ledger-key": "k"})
            statuses = [
                http.get("/v1/evals/runs", headers={"authorization": BLAND_KEY}).status_code,
                http.get(
                    "/v2/prompts/prompt_checkout_assistant_0001/evaluations", headers=BEARER
                ).status_code,
                http.get("/v2/tasks", headers=BEARER).status_code,
            ]
        assert 201 == made.status_code
        assert {"runs": [{"id": "run-1", "owner": "k"}]} == listed.json()
        assert (404, {"ledger_error": "nothing at /v1/ledger/nothing"}) == (
            unknown.status_code,
            unknown.json(),
        )
        assert [200, 200, 200] == statuses

    def test_the_lost_create_fault_reaches_a_new_vendors_create_route(self):
        """Marking a route `creates` is all it takes for the lost-create fault to swallow it."""
        faults = emulator.Faults(lost_create_rate=1.0)
        with (
            emulator.serve_in_thread(faults=faults, vendors={**VENDORS, "ledger": LEDGER}) as url,
            httpx.Client(base_url=url, timeout=10) as http,
        ):
            with pytest.raises(httpx.TransportError):
                http.post("/v1/ledger/runs", headers={"x-ledger-key": "k"})
            listed = http.get("/v1/ledger/runs", headers={"x-ledger-key": "k"}).json()
        assert {"runs": [{"id": "run-1", "owner": "k"}]} == listed


class TestTheRegistry:
    @pytest.mark.parametrize("name", sorted(VENDORS))
    def test_each_vendor_is_the_package_of_its_name(self, name):
        """A registry entry is `name: <package name>.VENDOR`, whose name matches."""
        package = importlib.import_module(f"reconciler.emulator.{name}")
        assert (name, package.VENDOR) == (VENDORS[name].name, VENDORS[name])

    @pytest.mark.parametrize(
        ("path", "vendor"),
        [
            ("/v1/evals/runs", "bland"),
            ("/v1/evals", "bland"),
            ("/v2/prompts/prompt_checkout_assistant_0001/evaluations", "adaline"),
            ("/v2/datasets", "adaline"),
            ("/v2/tasks/x/runs", "arize"),
            ("/v2/task-runs/x", "arize"),
            ("/v2/experiments", "arize"),
            ("/v2/spaces", None),
            ("/v1/evalsX", None),
            ("/", None),
        ],
    )
    def test_each_path_belongs_to_at_most_one_vendor(self, path, vendor):
        """The mounts of the registered vendors split the root URL between them."""
        server = emulator.make_server("127.0.0.1", 0)
        try:
            found = server.routes.find("GET", path)
        finally:
            server.server_close()
        assert vendor == (found[0] if found is not None else None)
