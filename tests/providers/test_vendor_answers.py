"""Vendor answers of the wrong shape fail clearly, naming vendor and operation (rule 9).

Each case is served by a tiny hostile HTTP server (tests/providers/hostile.py): the emulator
answers only as the vendor pages allow. A listing that cannot be read to its end fails; it
never skips an item (a skipped item may be a declared run, then created twice) and never
pages for ever.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from reconciler.errors import ListingError, ProviderError
from reconciler.model import Address, Kind, Lifecycle, Resource, SourceLocation, Vendor
from reconciler.providers.adaline import AdalineProvider
from reconciler.providers.arize import ArizeProvider
from reconciler.providers.bland import BlandProvider
from reconciler.providers.config import ProviderConfig
from reconciler.providers.paging import MAX_EMPTY_PAGES
from reconciler.secret import Secret
from reconciler.vendors.registry import VENDORS as REGISTERED
from tests.providers.hostile import hostile_vendor

KEY = "test-key-hostile-91b3"
PROMPT = "prompt_checkout_assistant_0001"
EVALUATOR, DATASET = "evaluator_checkout_accuracy_0001", "dataset_checkout_questions_0001"
TASK = "T25saW5lVGFzazoxOnNlZWQ="
START, END = "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"
SOURCE = SourceLocation(path="evals/x.yaml", line=1)


@dataclass(frozen=True)
class VendorCase:
    """How one vendor lists and creates, and what a user reads when it goes wrong."""

    name: str
    list_path: str
    create_path: str
    page: Callable[[list[object], object, object], object]
    item: dict[str, Any]
    create_answer: Callable[[object], object]
    build: Callable[[str], Any]
    resource: Resource
    list_prefix: str  # how a listing failure starts
    create_prefix: str  # how a create failure starts

    def list(self, provider: Any) -> object:
        return provider.list_runs([self.resource] if self.name == "adaline" else [])

    def create(self, provider: Any) -> object:
        return provider.create_run(self.resource, workspace="ws", request_id="req-1")


BLAND = VendorCase(
    name="bland",
    list_path="/v1/evals/runs",
    create_path="/v1/evals/runs",
    page=lambda items, more, cursor: {
        "data": {"object": "list", "data": items, "has_more": more, "next_cursor": cursor},
        "errors": None,
    },
    item={
        "id": "run-1",
        "status": "RUNNING",
        "created_at": "2026-11-30T00:00:00.000Z",
        "metadata": {},
    },
    create_answer=lambda data: {"data": data, "errors": None},
    build=lambda url: BlandProvider(
        ProviderConfig(vendor=Vendor.BLAND, api_key=Secret(KEY), base_url=url, max_retries=0)
    ),
    resource=Resource.build(
        address=Address(Kind.BLAND_EVAL_RUN, "nightly"),
        spec={
            "call_ids": ["a1b2c3d4-0000-4000-8000-000000000001"],
            "attached_agents": [{"eval_agent_id": "11111111-aaaa-4bbb-8ccc-000000000001"}],
        },
        lifecycle=Lifecycle(),
        source=SOURCE,
    ),
    list_prefix="bland: list runs failed",
    create_prefix="bland: create run failed",
)
ADALINE = VendorCase(
    name="adaline",
    list_path=f"/v2/prompts/{PROMPT}/evaluations",
    create_path=f"/v2/prompts/{PROMPT}/evaluations",
    page=lambda items, more, cursor: {
        "evaluations": items,
        "pagination": {"limit": 200, "returned": len(items), "hasMore": more, "nextCursor": cursor},
    },
    item={
        "runId": "run_00000000000000000001",
        "evaluatorId": EVALUATOR,
        "datasetId": DATASET,
        "status": "running",
        "timeline": {"submittedAt": 1_795_000_000_000},
    },
    create_answer=lambda data: data,
    build=lambda url: AdalineProvider(
        ProviderConfig(
            vendor=Vendor.ADALINE, api_key=Secret(KEY), base_url=url + "/v2", max_retries=0
        )
    ),
    resource=Resource.build(
        address=Address(Kind.ADALINE_EVALUATION, "accuracy"),
        spec={"promptId": PROMPT, "evaluatorId": EVALUATOR, "datasetId": DATASET},
        lifecycle=Lifecycle(),
        source=SOURCE,
    ),
    list_prefix="adaline: list evaluations",
    create_prefix="adaline: create failed",
)
ARIZE = VendorCase(
    name="arize",
    list_path=f"/v2/tasks/{TASK}/runs",
    create_path=f"/v2/tasks/{TASK}/trigger",
    page=lambda items, more, cursor: {
        "task_runs": items,
        "pagination": {"has_more": more, **({"next_cursor": cursor} if cursor else {})},
    },
    item={
        "id": "run-1",
        "task_id": TASK,
        "status": "RUNNING",
        "created_at": "2026-11-30T00:00:00Z",
        "data_start_time": START,
        "data_end_time": END,
    },
    create_answer=lambda data: data,
    build=lambda url: ArizeProvider(
        ProviderConfig(
            vendor=Vendor.ARIZE, api_key=Secret(KEY), base_url=url, max_retries=0, task_ids=(TASK,)
        )
    ),
    resource=Resource.build(
        address=Address(Kind.ARIZE_TASK_RUN, "week"),
        spec={"task_id": TASK, "data_start_time": START, "data_end_time": END},
        lifecycle=Lifecycle(),
        source=SOURCE,
    ),
    list_prefix=f"arize: list runs of task {TASK} failed",
    create_prefix="arize: trigger failed",
)
CASES = {Vendor.BLAND: BLAND, Vendor.ADALINE: ADALINE, Vendor.ARIZE: ARIZE}
VENDORS = [CASES[vendor] for vendor in REGISTERED]  # a registered vendor without a case fails
IDS = [v.name for v in VENDORS]


def listing_error(vendor: VendorCase, pages: Callable[[int], object]) -> tuple[str, int]:
    """List through a server that answers list request n with pages(n); return the error."""

    def answer(method: str, path: str, query: dict[str, str]) -> tuple[int, object]:
        if method == "GET" and path == vendor.list_path:
            listed = sum(1 for r in server.requests if r[1] == vendor.list_path)
            return 200, pages(listed)
        return 404, {"error": "not here"}

    with hostile_vendor(answer) as server:
        provider = vendor.build(server.url)
        try:
            with pytest.raises(ListingError) as caught:
                vendor.list(provider)
        finally:
            provider.close()
        return str(caught.value), sum(1 for r in server.requests if r[1] == vendor.list_path)


def create_error(vendor: VendorCase, data: object) -> str:
    """Create through a server that answers the create with `data` in the vendor's envelope."""

    def answer(method: str, path: str, query: dict[str, str]) -> tuple[int, object]:
        if method == "POST" and path == vendor.create_path:
            return 202, vendor.create_answer(data)
        return 404, {"error": "not here"}

    with hostile_vendor(answer) as server:
        provider = vendor.build(server.url)
        try:
            with pytest.raises(ProviderError) as caught:
                vendor.create(provider)
        finally:
            provider.close()
        return str(caught.value)


class TestPaging:
    @pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
    def test_a_more_flag_that_is_a_string_is_a_protocol_error(self, vendor):
        """`"false"` is not false: the listing fails instead of reading a truthy string."""
        message, pages = listing_error(vendor, lambda n: vendor.page([vendor.item], "false", None))
        assert message.startswith(vendor.list_prefix), message
        assert "the string 'false', not a JSON boolean" in message
        assert 1 == pages

    @pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
    def test_empty_pages_that_say_there_are_more_end_the_listing_after_a_few(self, vendor):
        """Fresh cursors and no items for ever: the listing gives up after a handful of pages."""
        message, pages = listing_error(vendor, lambda n: vendor.page([], True, f"cursor-{n}"))
        assert message.startswith(vendor.list_prefix), message
        assert "had no items yet said there are more" in message
        assert MAX_EMPTY_PAGES + 1 == pages

    @pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
    def test_a_cursor_sent_twice_ends_the_listing(self, vendor):
        """The same cursor again would loop for ever."""
        message, pages = listing_error(vendor, lambda n: vendor.page([vendor.item], True, "same"))
        assert message.startswith(vendor.list_prefix), message
        assert message.endswith("is true but the page has a cursor it sent before"), message
        assert 2 == pages


class TestListItems:
    @pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
    @pytest.mark.parametrize(
        ("bad", "described"),
        [(None, "null"), ("run-2", "the string 'run-2'"), ([1], "a list"), (7, "a number")],
        ids=["null", "string", "list", "number"],
    )
    def test_a_list_item_that_is_not_an_object_fails_the_listing(self, vendor, bad, described):
        """Never skipped: a skipped item may be a declared run, which would be created twice."""
        message, _ = listing_error(vendor, lambda n: vendor.page([vendor.item, bad], False, None))
        assert message.startswith(vendor.list_prefix), message
        assert f"item 2 of a list page is {described}, not an object" in message

    @pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
    @pytest.mark.parametrize(
        ("field", "value", "says"),
        [
            ("status", 3, "`status` is a number, not a non-empty string"),
            ("created_at", "yesterday", "is not an RFC 3339 timestamp"),
            ("metadata", ["reconciler.workspace", "ws"], "`metadata` is a list, not an object"),
        ],
        ids=["status-a-number", "created-at-garbage", "metadata-a-list"],
    )
    def test_a_run_with_a_field_of_the_wrong_type_fails_the_listing(
        self, vendor, field, value, says
    ):
        """A misread status, time or label set would mis-plan: the listing fails instead."""
        item = dict(vendor.item)
        if vendor.name == "adaline":
            field = {"created_at": "timeline", "metadata": "datasetId"}.get(field, field)
            value = {"timeline": {"submittedAt": "yesterday"}}.get(field, value)
            says = {
                "timeline": "`timeline.submittedAt` is not an epoch timestamp",
                "datasetId": "`datasetId` is a list, not a string",
            }.get(field, says)
        if vendor.name == "arize" and field == "metadata":
            field, says = "created_by_user_id", "`created_by_user_id` is a list, not a string"
        item[field] = value
        message, _ = listing_error(vendor, lambda n: vendor.page([item], False, None))
        assert message.startswith(vendor.list_prefix), message
        assert says in message


class TestCreateAnswers:
    @pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
    @pytest.mark.parametrize(
        ("data", "says"),
        [
            ([{"id": "run-1"}], "the answer is a list, not a"),
            ("run-1", "the answer is the string 'run-1', not a"),
            ("missing-id", "is null, not a non-empty string"),
            ("missing-status", "`status` is null, not a non-empty string"),
        ],
        ids=["a-list", "a-string", "no-id", "no-status"],
    )
    def test_a_create_answered_with_the_wrong_shape_names_vendor_and_operation(
        self, vendor, data, says
    ):
        """The run may exist: the error says so, and that the next plan will see it."""
        if data in ("missing-id", "missing-status"):
            item = dict(vendor.item)
            del item["status" if data == "missing-status" else "runId" if "runId" in item else "id"]
            data = item
        message = create_error(vendor, data)
        assert message.startswith(vendor.create_prefix), message
        assert says in message
        assert "the next plan" in message


def test_an_experiment_without_a_name_fails_the_arize_listing():
    """The name keys the experiment's runs: without it the run would be triggered again."""
    runs = {"task_runs": [dict(ARIZE.item, experiment_id="E1")], "pagination": {"has_more": False}}
    for window in ("data_start_time", "data_end_time"):
        del runs["task_runs"][0][window]
    answers: dict[str, object] = {
        f"/v2/tasks/{TASK}": {"id": TASK, "type": "RUN_EXPERIMENT", "dataset_id": "D1"},
        f"/v2/tasks/{TASK}/runs": runs,
        "/v2/experiments": {"experiments": [{"id": "E1"}], "pagination": {"has_more": False}},
    }

    def answer(method: str, path: str, query: dict[str, str]) -> tuple[int, object]:
        return (200, answers[path]) if path in answers else (404, {"error": "not here"})

    with hostile_vendor(answer) as server:
        provider = ARIZE.build(server.url)
        try:
            with pytest.raises(ListingError) as caught:
                provider.list_runs([])
        finally:
            provider.close()
    assert (
        "arize: list experiments of dataset D1 failed (HTTP 200): the experiment's `name` is"
        " null, not a non-empty string"
    ) == str(caught.value)
