"""`reconciler status` over 1,000 active runs across the three vendors.

Bland: 400 runs of 400 declared resources; Adaline: 300 runs of the two keys the manifests
declare (150 each: the list shows them all, the planner picks one per key); Arize: 300 runs
over 10 tasks, one resource each. Every run is active (1,000 in all, 702 resources), so one
poll lists and judges them all. Measures the requests one poll makes (target: the list pages, plus
one read per Arize task, never a GET per run) and the time to render each report format from
the same result. The last line printed is one JSON object with the figures.

    python benchmarks/bench_status.py

With `--baselines`: 1,000 Bland resources, each with 20 finished runs of history (19 of an
older spec, then the current one), judged once with a regression gate (`baseline: previous`,
and a Newcombe interval) and once with absolute gates only. Target: at most 1.5x the time,
and the same requests (the list pages, never a GET per run).

    python benchmarks/bench_status.py --baselines
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from contextlib import ExitStack

from reconciler import emulator
from reconciler.emulator.arize import CATALOGUE_TAG, global_id
from reconciler.gates import Outcome
from reconciler.model import (
    Address,
    Kind,
    Lifecycle,
    Resource,
    SourceLocation,
    Threshold,
    Vendor,
    ownership_labels,
)
from reconciler.providers.config import ProviderConfig
from reconciler.providers.registry import emulator_base_url, make_provider
from reconciler.render import status as views
from reconciler.secret import Secret
from reconciler.status import wait_and_judge

KEY = "bench-status"
PROMPTS = {
    "prompt_checkout_assistant_0001": "evaluator_checkout_accuracy_0001",
    "prompt_refund_triage_0002": "evaluator_refund_policy_match_0004",
}
DATASETS = {
    "evaluator_checkout_accuracy_0001": "dataset_checkout_questions_0001",
    "evaluator_refund_policy_match_0004": "dataset_refund_requests_0003",
}
GATES = (Threshold(metric="error_rate_pct", max=5), Threshold(metric="failed_count", max=10))


def _resource(kind: Kind, name: str, spec: dict[str, object]) -> Resource:
    return Resource.build(
        address=Address(kind, name),
        spec=spec,  # type: ignore[arg-type]
        lifecycle=Lifecycle(),
        thresholds=GATES,
        source=SourceLocation(path="bench.yaml", line=1),
    )


def main() -> None:
    # Runs must stay active while we poll: a slow clock for the emulator.
    server = emulator.make_server("127.0.0.1", 0, seed=2, time_scale=0.0001)
    resources: list[Resource] = []
    # Bland: labelled runs of 400 declared resources (the planner matches them by labels).
    for n in range(400):
        r = _resource(
            Kind.BLAND_EVAL_RUN,
            f"bland-{n:04d}",
            {
                "call_ids": [f"a1b2c3d4-0000-4000-8000-{n + 1:012d}"],
                "attached_agents": [{"eval_agent_id": "11111111-aaaa-4bbb-8ccc-000000000001"}],
            },
        )
        resources.append(r)
    # Adaline and Arize runs are matched by natural key, so seed them and declare their keys.
    for prompt, evaluator in PROMPTS.items():
        server.adaline.seed_runs(KEY, 150, prompt_id=prompt, evaluator_id=evaluator)
        spec = {"promptId": prompt, "evaluatorId": evaluator, "datasetId": DATASETS[evaluator]}
        resources.append(_resource(Kind.ADALINE_EVALUATION, f"adaline-{prompt[-4:]}", spec))
    tasks = [global_id("OnlineTask", 1, CATALOGUE_TAG), *server.arize.add_tasks(9)]
    for task in tasks:
        server.arize.seed_runs(KEY, 30, task_id=task)
    serving = ExitStack()
    url = serving.enter_context(emulator.serve_in_thread(server, poll_interval=0.05))
    providers = {
        v: make_provider(
            ProviderConfig(vendor=v, base_url=emulator_base_url(v, url), api_key=Secret(KEY))
        )
        for v in Vendor
    }
    try:
        bland = providers[Vendor.BLAND]
        for r in resources[:400]:
            bland.create_run(r, workspace="bench", request_id=str(r.address))
        arize_resources = []
        for run in providers[Vendor.ARIZE].list_runs(
            [
                _resource(
                    Kind.ARIZE_TASK_RUN,
                    "probe",
                    {
                        "task_id": t,
                        "data_start_time": "2026-01-01T00:00:00Z",
                        "data_end_time": "2026-01-02T00:00:00Z",
                    },
                )
                for t in tasks
            ]
        ):
            parts = dict(run.natural_key.parts) if run.natural_key else {}
            if "data_start_time" in parts:
                spec = {
                    "task_id": parts["task_id"],
                    "data_start_time": parts["data_start_time"],
                    "data_end_time": parts["data_end_time"],
                }
                arize_resources.append(
                    _resource(Kind.ARIZE_TASK_RUN, f"arize-{len(arize_resources):04d}", spec)
                )
        resources += arize_resources
        server.requests.clear()
        started = time.perf_counter()
        result = wait_and_judge(resources, providers, workspace="bench", timeout_s=0)
        poll_s = time.perf_counter() - started
        requests = dict(server.requests)
    finally:
        for provider in providers.values():
            provider.close()
        serving.close()
    expected = {
        "BlandApi": math.ceil(400 / 100),
        "AdalineApi": 2,  # one filtered page of 150 per prompt (limit 200)
        "ArizeApi": len(tasks) * (1 + math.ceil(30 / 100)),  # a task read + its runs page
    }
    renders = {}
    for name, render in (
        ("table", views.render_status_text),
        ("json", views.render_status_json),
        ("markdown", views.render_status_markdown),
        ("junit", views.render_status_junit),
    ):
        begin = time.perf_counter()
        render(result)
        renders[name] = round((time.perf_counter() - begin) * 1000, 2)
    running = result.count(Outcome.RUNNING)
    print(f"{len(result.resources)} resources, {running} runs active; one poll {poll_s:.2f} s")
    for api, want in expected.items():
        print(f"  {api:10} {requests.get(api, 0)} requests (list pages and task reads: {want})")
    print("  render ms: " + ", ".join(f"{k} {v}" for k, v in renders.items()))
    print(
        json.dumps(
            {
                "bench": "status",
                "resources": len(result.resources),
                "active_runs": running,
                "poll_s": round(poll_s, 3),
                "requests_per_poll": requests,
                "expected_requests": expected,
                "render_ms": renders,
            }
        )
    )


REGRESSION = (
    Threshold(metric="pass_rate_pct", max_drop=3, baseline="previous", confidence=0.95),
    Threshold(metric="cost_usd", max_rise_pct=20, baseline="previous"),
)
ABSOLUTE = (Threshold(metric="pass_rate_pct", min=0), Threshold(metric="cost_usd", max=1000))


def _bland(name: str, gates: tuple[Threshold, ...], dataset: str) -> Resource:
    return Resource.build(
        address=Address(Kind.BLAND_EVAL_RUN, name),
        spec={
            "call_ids": ["a1b2c3d4-0000-4000-8000-000000000001"],
            "attached_agents": [{"eval_agent_id": "11111111-aaaa-4bbb-8ccc-000000000001"}],
        },
        lifecycle=Lifecycle(triggers=(("dataset", json.dumps(dataset)),)),
        thresholds=gates,
        source=SourceLocation(path="bench.yaml", line=1),
    )


def baselines(resources_n: int = 1_000, history_n: int = 20, repeats: int = 3) -> None:
    """Time status with regression gates against status with absolute gates, same history."""
    now = [time.time()]
    server = emulator.make_server(
        "127.0.0.1", 0, seed=2, time_scale=1_000_000.0, clock=lambda: now[0]
    )
    with_gates = [_bland(f"r-{n:04d}", REGRESSION, "new") for n in range(resources_n)]
    without = [_bland(f"r-{n:04d}", ABSOLUTE, "new") for n in range(resources_n)]
    for resource in with_gates:
        older = _bland(resource.address.name, (), "old")
        labels = dict(ownership_labels(older, workspace="bench", request_id="seed"))
        server.bland.seed_runs(KEY, history_n - 1, metadata=labels, calls=1, spacing_s=60)
    now[0] += 3600
    for resource in with_gates:
        labels = dict(ownership_labels(resource, workspace="bench", request_id="seed"))
        server.bland.seed_runs(KEY, 1, metadata=labels, calls=1)
    now[0] += 24 * 3600  # every run has finished
    serving = ExitStack()
    url = serving.enter_context(emulator.serve_in_thread(server, poll_interval=0.05))
    bland = ProviderConfig(
        vendor=Vendor.BLAND,
        base_url=emulator_base_url(Vendor.BLAND, url),
        api_key=Secret(KEY),
    )
    providers = {Vendor.BLAND: make_provider(bland)}
    timings: dict[str, list[float]] = {"baselines": [], "absolute": []}
    requests: dict[str, dict[str, int]] = {}
    compared = 0
    try:
        for _ in range(repeats):
            for name, resources in (("absolute", without), ("baselines", with_gates)):
                server.requests.clear()
                started = time.perf_counter()
                result = wait_and_judge(resources, providers, workspace="bench", timeout_s=0)
                timings[name].append(time.perf_counter() - started)
                requests[name] = dict(server.requests)
                if name == "baselines":
                    compared = sum(
                        1
                        for s in result.resources
                        for g in s.gates
                        if g.regression is not None and g.regression.run_id is not None
                    )
    finally:
        for provider in providers.values():
            provider.close()
        serving.close()
    median = {k: statistics.median(v) for k, v in timings.items()}
    ratio = median["baselines"] / median["absolute"]
    runs = resources_n * history_n
    print(f"{resources_n} resources x {history_n} runs ({runs} runs), median of {repeats}:")
    print(f"  absolute gates   {median['absolute']:.2f} s  requests {requests['absolute']}")
    print(f"  regression gates {median['baselines']:.2f} s  requests {requests['baselines']}")
    print(f"  ratio {ratio:.2f}x (target <= 1.5x); {compared} gates compared with a baseline")
    print(
        json.dumps(
            {
                "bench": "status-baselines",
                "resources": resources_n,
                "runs": runs,
                "absolute_s": round(median["absolute"], 3),
                "baselines_s": round(median["baselines"], 3),
                "ratio": round(ratio, 3),
                "requests": requests,
                "compared_gates": compared,
            }
        )
    )


if __name__ == "__main__":
    if "--baselines" in sys.argv[1:]:
        baselines()
    else:
        main()
