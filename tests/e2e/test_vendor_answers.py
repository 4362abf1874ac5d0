"""Vendors listing in any order, omitting a field, or answering nonsense: through the CLI.

The order of the vendors' run lists is undocumented and Adaline's `datasetId` may be absent;
neither may make apply create a run twice. A vendor answering outside its contract stops
`plan` with one line naming vendor and operation, never `internal error`.
"""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler import emulator
from reconciler.cli import cli
from tests.providers.hostile import hostile_vendor

BLAND_KEY = "sk-canary-bland-order-3a9c"
ADALINE_KEY = "sk-canary-adaline-order-77d1"
AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
CHECKOUT = "prompt_checkout_assistant_0001"
REFUND = "prompt_refund_triage_0002"
ADALINE_KEYS = {  # two keys on one prompt (listed unfiltered), one alone (listed filtered)
    "accuracy": (CHECKOUT, "evaluator_checkout_accuracy_0001", "dataset_checkout_questions_0001"),
    "latency": (CHECKOUT, "evaluator_checkout_latency_0002", "dataset_checkout_edge_cases_0002"),
    "policy": (REFUND, "evaluator_refund_policy_match_0004", "dataset_refund_requests_0003"),
}
HOUR = 3600.0

Served = tuple[emulator.EmulatorServer, str]


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """Start emulators on the wall clock (the providers reckon look-up windows from it)."""
    with ExitStack() as stack:

        def start(**options: object) -> Served:
            server = emulator.make_server("127.0.0.1", 0, seed=5, **options)  # type: ignore[arg-type]
            return server, stack.enter_context(emulator.serve_in_thread(server))

        yield start


def project(root: Path, *, bland: str | None = None, adaline: str | None = None) -> Path:
    """Write reconciler.yaml and one manifest per vendor given; return the root."""
    providers = ""
    docs: list[str] = []
    if bland is not None:
        providers += f'  bland: {{api_key: "${{BLAND_API_KEY}}", base_url: "{bland}"}}\n'
        docs += [
            f"""\
            apiVersion: reconciler/v1
            kind: BlandEvalRun
            metadata: {{name: calls-{n}}}
            spec:
              call_ids: [a1b2c3d4-0000-4000-8000-{n:012d}]
              attached_agents: [{{eval_agent_id: {AGENT}}}]
            """
            for n in (1, 2)
        ]
    if adaline is not None:
        providers += f'  adaline: {{api_key: "${{ADALINE_API_KEY}}", base_url: "{adaline}/v2"}}\n'
        docs += [
            f"""\
            apiVersion: reconciler/v1
            kind: AdalineEvaluation
            metadata: {{name: {name}}}
            spec: {{promptId: {prompt}, evaluatorId: {evaluator}, datasetId: {dataset}}}
            """
            for name, (prompt, evaluator, dataset) in ADALINE_KEYS.items()
        ]
    (root / "reconciler.yaml").write_text(
        f"workspace: orders\nmanifests: [evals/*.yaml]\nproviders:\n{providers}"
    )
    (root / "evals").mkdir()
    (root / "evals" / "runs.yaml").write_text("---\n".join(textwrap.dedent(d) for d in docs))
    return root


def run(root: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli,
        ["-C", str(root), *args],
        env={"BLAND_API_KEY": BLAND_KEY, "ADALINE_API_KEY": ADALINE_KEY},
        catch_exceptions=False,
    )


def bland_runs(url: str) -> list[dict]:
    """Every run the emulator holds for the project's Bland key, over plain HTTP."""
    runs: list[dict] = []
    params: dict[str, str | int] = {"limit": 100}
    with httpx.Client(base_url=url, headers={"authorization": BLAND_KEY}) as http:
        while True:
            page = http.get("/v1/evals/runs", params=params).raise_for_status().json()["data"]
            runs += page["data"]
            if not page["has_more"]:
                return runs
            params["starting_after"] = page["next_cursor"]


@pytest.mark.parametrize("order", ["oldest", "shuffled"])
def test_apply_with_lost_create_answers_creates_each_run_once_in_any_list_order(
    tmp_path, serve, order
):
    """Every create's answer is lost and older runs fill three pages: still one run each."""
    server, url = serve(list_order=order, faults=emulator.Faults(lost_create_rate=1.0))
    server.bland.seed_runs(BLAND_KEY, 230, spacing_s=HOUR)
    root = project(tmp_path, bland=url)
    result = run(root, "apply", "--auto-approve")
    assert 0 == result.exit_code, result.output
    ours = [r for r in bland_runs(url) if r["metadata"].get("reconciler.workspace") == "orders"]
    addresses = sorted(r["metadata"]["reconciler.address"] for r in ours)
    assert ["BlandEvalRun/calls-1", "BlandEvalRun/calls-2"] == addresses


def test_adaline_runs_listed_without_datasetid_are_recognised_and_not_started_again(
    tmp_path, serve
):
    """Each declared key already runs; the vendor omits datasetId: no create, apply makes none."""
    _, url = serve(omit_dataset_id=True)
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {ADALINE_KEY}"}) as http:
        for prompt, evaluator, dataset in ADALINE_KEYS.values():
            http.post(
                f"/v2/prompts/{prompt}/evaluations",
                json={"evaluatorId": evaluator, "datasetId": dataset},
            ).raise_for_status()
    root = project(tmp_path, adaline=url)
    planned = run(root, "plan", "--detailed-exitcode")
    assert 0 == planned.exit_code, planned.output
    applied = run(root, "apply", "--auto-approve")
    assert 0 == applied.exit_code, applied.output
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {ADALINE_KEY}"}) as http:
        held = [
            item
            for prompt in (CHECKOUT, REFUND)
            for item in http.get(f"/v2/prompts/{prompt}/evaluations").json()["evaluations"]
        ]
    assert 3 == len(held)


def test_plan_against_a_vendor_listing_null_items_fails_with_one_line(tmp_path):
    """Rule 9: the listing fails (a skipped item may be declared); exit 1, one clear line."""

    def answer(method: str, path: str, query: dict[str, str]) -> tuple[int, object]:
        page = {"object": "list", "data": [None], "has_more": False, "next_cursor": None}
        return 200, {"data": page, "errors": None}

    with hostile_vendor(answer) as vendor:
        root = project(tmp_path, bland=vendor.url)
        result = run(root, "plan")
    assert 1 == result.exit_code
    assert "" == result.stdout
    assert [
        "Error: bland: list runs failed: item 1 of a list page is null, not an object; a skipped"
        " item could be a declared run, so the listing stops here"
    ] == result.stderr.splitlines()


def test_a_create_answered_with_the_wrong_shape_fails_only_that_action(tmp_path):
    """The other create happens, the summary is printed, the failure names vendor and operation."""
    posts: list[str] = []
    lock = threading.Lock()

    def answer(method: str, path: str, query: dict[str, str]) -> tuple[int, object]:
        if method == "GET":
            page = {"object": "list", "data": [], "has_more": False, "next_cursor": None}
            return 200, {"data": page}
        if path.endswith("/estimates"):
            return 200, {"data": {"estimated_cost_usd_cents": 1}}
        with lock:
            posts.append(path)
            first = len(posts) == 1
        if first:
            run = {"id": "run-1", "status": "PENDING", "created_at": "2026-11-30T06:00:00Z"}
            return 202, {"data": run}
        return 202, {"data": ["run-2"]}

    with hostile_vendor(answer) as vendor:
        root = project(tmp_path, bland=vendor.url)
        result = run(root, "apply", "--auto-approve")
    assert 1 == result.exit_code
    assert "Apply complete: 1 created, 0 cancelled, 0 replaced, 1 failed." in result.stdout
    failed = [line for line in result.stderr.splitlines() if line.startswith("Failed:")]
    assert 1 == len(failed), result.stderr
    assert failed[0].endswith(
        ": bland: create run failed (HTTP 200): the answer is a list, not a run object; the run"
        " may have been created: the next plan lists the runs and sees it"
    )
    assert "internal error" not in result.output
