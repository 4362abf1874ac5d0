"""The look-ups that prevent duplicates find the run whatever order the vendor lists in.

No vendor documents its list order (bland.md §11.18, arize.md §9.10; Bland's own example is
oldest first), so each look-up runs against an emulator serving newest first, oldest first
and shuffled, with older runs of the same organisation spread over several pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest

from reconciler import emulator
from reconciler.model import (
    LABEL_REQUEST_ID,
    Address,
    Kind,
    Lifecycle,
    Resource,
    SourceLocation,
    Vendor,
)
from reconciler.providers.adaline import AdalineProvider
from reconciler.providers.arize import ArizeProvider
from reconciler.providers.bland import BlandProvider
from reconciler.providers.config import ProviderConfig
from reconciler.providers.registry import emulator_base_url
from reconciler.secret import Secret
from reconciler.vendors.registry import VENDORS as REGISTERED

ORDERS = ("newest", "oldest", "shuffled")
KEY = "test-key-order-4e1a"
AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
CHECKOUT = "prompt_checkout_assistant_0001"
ACCURACY = ("evaluator_checkout_accuracy_0001", "dataset_checkout_questions_0001")
LATENCY = "evaluator_checkout_latency_0002"
TASK = "T25saW5lVGFzazoxOnNlZWQ="
OLDER_RUNS = 230  # over three pages at every vendor, all older than any look-up's window
HOUR = 3600.0

Served = tuple[emulator.EmulatorServer, str]


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """Start emulators on the wall clock (the providers reckon windows from it)."""
    with ExitStack() as stack:

        def start(**options: object) -> Served:
            server = emulator.make_server("127.0.0.1", 0, seed=11, **options)  # type: ignore[arg-type]
            return server, stack.enter_context(emulator.serve_in_thread(server))

        yield start


def source() -> SourceLocation:
    return SourceLocation(path="evals/x.yaml", line=1)


BLAND = Resource.build(
    address=Address(Kind.BLAND_EVAL_RUN, "nightly"),
    spec={
        "call_ids": ["a1b2c3d4-0000-4000-8000-000000000001"],
        "attached_agents": [{"eval_agent_id": AGENT, "weight": 100}],
    },
    lifecycle=Lifecycle(),
    source=source(),
)
ADALINE = Resource.build(
    address=Address(Kind.ADALINE_EVALUATION, "accuracy"),
    spec={"promptId": CHECKOUT, "evaluatorId": ACCURACY[0], "datasetId": ACCURACY[1]},
    lifecycle=Lifecycle(),
    source=source(),
)
ARIZE = Resource.build(
    address=Address(Kind.ARIZE_TASK_RUN, "week"),
    spec={
        "task_id": TASK,
        "data_start_time": "2026-03-01T00:00:00Z",
        "data_end_time": "2026-03-02T00:00:00Z",
    },
    lifecycle=Lifecycle(),
    source=source(),
)


def bland(server: emulator.EmulatorServer, url: str, *, max_retries: int = 2) -> BlandProvider:
    server.bland.seed_runs(KEY, OLDER_RUNS, spacing_s=HOUR)
    return BlandProvider(
        ProviderConfig(
            vendor=Vendor.BLAND, api_key=Secret(KEY), base_url=url, max_retries=max_retries
        )
    )


def adaline(server: emulator.EmulatorServer, url: str, *, max_retries: int = 2) -> AdalineProvider:
    server.adaline.seed_runs(KEY, OLDER_RUNS, prompt_id=CHECKOUT, evaluator_id=LATENCY)
    server.adaline.seed_runs(KEY, 3, prompt_id=CHECKOUT, evaluator_id=ACCURACY[0], spacing_s=HOUR)
    return AdalineProvider(
        ProviderConfig(
            vendor=Vendor.ADALINE,
            api_key=Secret(KEY),
            base_url=emulator_base_url(Vendor.ADALINE, url),
            max_retries=max_retries,
        )
    )


def arize(server: emulator.EmulatorServer, url: str, *, max_retries: int = 2) -> ArizeProvider:
    server.arize.seed_runs(KEY, OLDER_RUNS, task_id=TASK, spacing_s=HOUR)
    return ArizeProvider(
        ProviderConfig(
            vendor=Vendor.ARIZE,
            api_key=Secret(KEY),
            base_url=emulator_base_url(Vendor.ARIZE, url),
            max_retries=max_retries,
        )
    )


CASES = {
    Vendor.BLAND: (bland, BLAND),
    Vendor.ADALINE: (adaline, ADALINE),
    Vendor.ARIZE: (arize, ARIZE),
}
VENDORS = {vendor.value: CASES[vendor] for vendor in REGISTERED}  # every registered vendor


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("vendor", VENDORS)
def test_a_create_whose_answer_is_lost_is_found_in_any_list_order(serve, vendor, order):
    """The run was committed, its answer dropped: the look-up finds it, nothing is made twice."""
    server, url = serve(list_order=order, faults=emulator.Faults(lost_create_rate=1.0))
    build, resource = VENDORS[vendor]
    provider = build(server, url, max_retries=0)
    try:
        run = provider.create_run(resource, workspace="ws", request_id="req-lost")
        server.faults = emulator.Faults()
        since = datetime.now(UTC) - timedelta(minutes=1)
        twins = provider.find_runs(resource, workspace="ws", since=since)
    finally:
        provider.close()
    assert [run.run_id] == [r.run_id for r in twins]
    if vendor == "bland":
        assert "req-lost" == run.label(LABEL_REQUEST_ID)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("vendor", VENDORS)
def test_the_fresh_look_before_a_create_finds_a_run_made_since_the_plan_in_any_order(
    serve, vendor, order
):
    """Apply's look before each create sees the run another apply made since the plan."""
    server, url = serve(list_order=order)
    build, resource = VENDORS[vendor]
    provider = build(server, url)
    try:
        since = datetime.now(UTC) - timedelta(seconds=1)
        made = provider.create_run(resource, workspace="ws", request_id="req-1")
        found = provider.find_runs(resource, workspace="ws", since=since)
    finally:
        provider.close()
    assert [made.run_id] == [r.run_id for r in found]
