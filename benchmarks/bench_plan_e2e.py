"""`reconciler plan` against the emulator holding 10,000 live runs per vendor.

Bland: 10,000 runs in the organisation. Adaline: 5,000 runs on each of the two prompts the
manifests name. Arize: 200 runs on each of 50 tasks the manifests name. The CLI runs as a
user runs it (a separate process); the emulator, in this process, counts the requests and
bytes it answers. Targets: at most 5 s wall time for all three vendors, and requests equal
to the list pages plus one per Arize task (its type decides the trigger body): no per-run
GET during a plan. The last
line printed is one JSON object with the figures.

    python benchmarks/bench_plan_e2e.py [--runs 10000] [--tasks 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from reconciler import emulator

KEYS = {"BLAND_API_KEY": "bench-bland", "ADALINE_API_KEY": "bench-adaline"}
KEYS["ARIZE_API_KEY"] = "bench-arize"
PROMPTS = {
    "prompt_checkout_assistant_0001": (
        "evaluator_checkout_accuracy_0001",
        "dataset_checkout_questions_0001",
    ),
    "prompt_refund_triage_0002": (
        "evaluator_refund_policy_match_0004",
        "dataset_refund_requests_0003",
    ),
}
# Runs the plan in a grandchild and prints its peak RSS last on stderr: measured from this
# process, a child forked from the benchmark would count the emulator's memory too.
PEAK = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run([sys.executable, *sys.argv[1:]]).returncode\n"
    "kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print('peak-rss-kib', kib, file=sys.stderr)\n"
    "sys.exit(code)\n"
)
AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"


def write_project(root: Path, url: str, tasks: list[str]) -> int:
    """Write reconciler.yaml and manifests; return the number of resources."""
    (root / "reconciler.yaml").write_text(
        "workspace: bench\n"
        'manifests: ["evals/*.yaml"]\n'
        "providers:\n"
        f'  bland: {{api_key: "${{BLAND_API_KEY}}", base_url: "{url}"}}\n'
        f'  adaline: {{api_key: "${{ADALINE_API_KEY}}", base_url: "{url}/v2"}}\n'
        f'  arize: {{api_key: "${{ARIZE_API_KEY}}", base_url: "{url}"}}\n'
    )
    docs = []
    for n in range(10):
        docs.append(
            f"apiVersion: reconciler/v1\nkind: BlandEvalRun\nmetadata: {{name: bland-{n}}}\n"
            f"spec:\n  call_ids: [a1b2c3d4-0000-4000-8000-{n + 1:012d}]\n"
            f"  attached_agents: [{{eval_agent_id: {AGENT}}}]\n"
        )
    for n, (prompt, (evaluator, dataset)) in enumerate(sorted(PROMPTS.items())):
        docs.append(
            f"apiVersion: reconciler/v1\nkind: AdalineEvaluation\nmetadata: {{name: adaline-{n}}}\n"
            f"spec: {{promptId: {prompt}, evaluatorId: {evaluator}, datasetId: {dataset}}}\n"
        )
    for n, task in enumerate(tasks):
        docs.append(
            f"apiVersion: reconciler/v1\nkind: ArizeTaskRun\nmetadata: {{name: arize-{n}}}\n"
            f'spec: {{task_id: "{task}", data_start_time: "2026-11-02T00:00:00Z", '
            'data_end_time: "2026-11-09T00:00:00Z"}\n'
        )
    (root / "evals").mkdir()
    (root / "evals" / "all.yaml").write_text("---\n".join(docs))
    return len(docs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="live runs per vendor")
    parser.add_argument("--tasks", type=int, default=50, help="Arize tasks")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--bland-only", action="store_true", help="seed only Bland (the memory case of #13)"
    )
    args = parser.parse_args()

    server = emulator.make_server("127.0.0.1", 0, seed=1)
    started = time.perf_counter()
    server.bland.seed_runs(KEYS["BLAND_API_KEY"], args.runs)
    per_prompt = 0 if args.bland_only else args.runs // len(PROMPTS)
    for prompt, (evaluator, _) in PROMPTS.items():
        server.adaline.seed_runs(
            KEYS["ADALINE_API_KEY"], per_prompt, prompt_id=prompt, evaluator_id=evaluator
        )
    tasks = [emulator_task_one(), *server.arize.add_tasks(args.tasks - 1)]
    per_task = 0 if args.bland_only else args.runs // args.tasks
    for task in tasks:
        server.arize.seed_runs(KEYS["ARIZE_API_KEY"], per_task, task_id=task)
    seeded = args.runs if args.bland_only else 3 * args.runs
    print(f"seeded {seeded} runs in {time.perf_counter() - started:.1f} s")
    serving = ExitStack()
    url = serving.enter_context(emulator.serve_in_thread(server, poll_interval=0.05))
    walls: list[float] = []
    peaks: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            resources = write_project(Path(tmp), url, tasks)
            env = {**os.environ, **KEYS}
            for _ in range(args.repeat + 1):  # the first plan also warms the emulator up
                server.requests.clear()
                server.bytes_sent.clear()
                begin = time.perf_counter()
                result = subprocess.run(
                    [sys.executable, "-c", PEAK, "-m", "reconciler.cli", "-C", tmp, "plan"],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                walls.append(time.perf_counter() - begin)
                peaks.append(int(result.stderr.rsplit("peak-rss-kib ", 1)[-1]) / 1024)
                if result.returncode != 0:
                    sys.exit(f"plan failed ({result.returncode}):\n{result.stderr}")
    finally:
        serving.close()
    expected = {
        "BlandApi": math.ceil(args.runs / 100),
        "AdalineApi": len(PROMPTS) * max(1, math.ceil(per_prompt / 200)),
        "ArizeApi": args.tasks * max(1, math.ceil(per_task / 100)) + args.tasks,
    }
    rows = []
    for api, pages in expected.items():
        rows.append(
            {
                "vendor": api.removesuffix("Api").lower(),
                "live_runs": args.runs,
                "requests": server.requests[api],
                "expected_requests": pages,
                "bytes_read": server.bytes_sent[api],
            }
        )
        print(
            f"{rows[-1]['vendor']:8} {args.runs} runs: {server.requests[api]} requests "
            f"({pages} list pages and task reads), {server.bytes_sent[api] / 1e6:.1f} MB read"
        )
    cold, walls = walls[0], walls[1:]
    print(f"first plan {cold:.2f} s (the emulator computes each run's state once, then caches)")
    wall = statistics.median(walls)
    print(
        f"reconciler plan ({resources} resources, 3 vendors): median {wall:.2f} s (target <= 5 s)"
    )
    print(
        json.dumps(
            {
                "bench": "plan_e2e",
                "resources": resources,
                "seconds_median": round(wall, 3),
                "seconds_all": [round(w, 3) for w in walls],
                "seconds_first_cold_emulator": round(cold, 3),
                "plan_peak_rss_mib": round(max(peaks), 1),
                "load_1min": round(os.getloadavg()[0], 2),
                "target_s": 5,
                "rows": rows,
            }
        )
    )


def emulator_task_one() -> str:
    from reconciler.emulator.arize import CATALOGUE_TAG, global_id

    return global_id("OnlineTask", 1, CATALOGUE_TAG)


if __name__ == "__main__":
    main()
