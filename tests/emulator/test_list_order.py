"""The emulator's `list_order` and `omit_dataset_id` options: what a vendor may do, served."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import httpx
import pytest
from click.testing import CliRunner

from reconciler import emulator
from reconciler.cli import cli

KEY = "test-key-order"
PROMPT = "prompt_checkout_assistant_0001"
TASK = "T25saW5lVGFzazoxOnNlZWQ="
ORDERS = ("newest", "oldest", "shuffled")
COUNT = 7  # runs listed 3 at a time: three pages

Served = tuple[emulator.EmulatorServer, str]


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    with ExitStack() as stack:

        def start(**options: object) -> Served:
            server = emulator.make_server("127.0.0.1", 0, seed=3, **options)  # type: ignore[arg-type]
            return server, stack.enter_context(emulator.serve_in_thread(server))

        yield start


def read_all(url: str, path: str, *, items: str, auth: str, cursor_param: str) -> list[dict]:
    """Walk every page of a list the way each vendor page says, three items at a time."""
    found: list[dict] = []
    params: dict[str, str | int] = {"limit": 3}
    with httpx.Client(base_url=url, headers={"authorization": auth}, timeout=10) as http:
        for _ in range(20):
            body = http.get(path, params=params).raise_for_status().json()
            page = body.get("data", body)  # Bland wraps its list object in `data`
            found += page[items]
            pagination = page.get("pagination", page)
            more = pagination.get("has_more", pagination.get("hasMore"))
            if not more:
                return found
            cursor = pagination.get("next_cursor") or pagination.get("nextCursor")
            params = {**params, cursor_param: cursor}
    raise AssertionError("the list never ended")


def bland(server: emulator.EmulatorServer, url: str) -> tuple[list[str], list[str]]:
    ids = server.bland.seed_runs(KEY, COUNT)
    listed = read_all(url, "/v1/evals/runs", items="data", auth=KEY, cursor_param="starting_after")
    return ids, [item["id"] for item in listed]


def adaline(server: emulator.EmulatorServer, url: str) -> tuple[list[str], list[str]]:
    ids = server.adaline.seed_runs(KEY, COUNT, prompt_id=PROMPT)
    listed = read_all(
        url,
        f"/v2/prompts/{PROMPT}/evaluations?sort=createdAt:desc",
        items="evaluations",
        auth=f"Bearer {KEY}",
        cursor_param="cursor",
    )
    return ids, [item["runId"] for item in listed]


def arize(server: emulator.EmulatorServer, url: str) -> tuple[list[str], list[str]]:
    ids = server.arize.seed_runs(KEY, COUNT, task_id=TASK)
    listed = read_all(
        url,
        f"/v2/tasks/{TASK}/runs",
        items="task_runs",
        auth=f"Bearer {KEY}",
        cursor_param="cursor",
    )
    return ids, [item["id"] for item in listed]


VENDORS = {"bland": bland, "adaline": adaline, "arize": arize}


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("order", ORDERS)
def test_every_list_order_pages_through_each_run_exactly_once(serve, vendor, order):
    """Whatever the order, the pages together hold every run once (seed_runs: oldest first)."""
    server, url = serve(list_order=order)
    oldest_first, listed = VENDORS[vendor](server, url)
    assert sorted(oldest_first) == sorted(listed)
    expected = {
        "newest": list(reversed(oldest_first)),
        "oldest": oldest_first,
    }.get(order)
    if expected is not None:
        assert expected == listed
    else:
        assert listed not in (oldest_first, list(reversed(oldest_first)))


def test_adaline_ignores_sort_when_told_to_list_oldest_first(serve):
    """`sort=createdAt:desc` is the client's wish; the option models a vendor ignoring it."""
    server, url = serve(list_order="oldest")
    oldest_first, listed = adaline(server, url)
    assert oldest_first == listed


def test_omit_dataset_id_leaves_the_field_out_of_every_evaluation(serve):
    """adaline.md §2: `datasetId` may be absent; the option removes it from list and read."""
    server, url = serve(omit_dataset_id=True)
    (run_id,) = server.adaline.seed_runs(KEY, 1, prompt_id=PROMPT)
    path = f"/v2/prompts/{PROMPT}/evaluations"
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {KEY}"}) as http:
        listed = http.get(path).raise_for_status().json()["evaluations"]
        read = http.get(f"{path}/{run_id}").raise_for_status().json()
    assert [run_id] == [item["runId"] for item in listed]
    assert "datasetId" not in listed[0]
    assert "datasetId" not in read
    assert "evaluatorId" in read


def test_an_unknown_list_order_is_refused_before_the_port_is_bound():
    """make_server names the orders there are."""
    with pytest.raises(ValueError, match="newest, oldest, shuffled"):
        emulator.make_server("127.0.0.1", 0, list_order="sideways")


def test_the_emulator_command_offers_the_list_order_and_dataset_options():
    """`reconciler emulator --help` lists both options, with the three orders."""
    result = CliRunner().invoke(cli, ["emulator", "--help"])
    assert 0 == result.exit_code
    assert "--list-order [newest|oldest|shuffled]" in result.output
    assert "--omit-dataset-id" in result.output
