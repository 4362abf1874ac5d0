"""An emulator in its own process, seeded with many live runs and warmed, for bench_plan_e2e.

Seeds `--runs` live runs per vendor: Bland's organisation, `--runs / 2` on each of the two
Adaline prompts of PROMPTS, `--runs / --tasks` on each of `--tasks` Arize tasks (task one of
the catalogue and copies of it). Then it serves, walks every list once at no latency (the
emulator builds what it caches on a first list: Adaline's queue schedule, docs/performance.md),
and only then adds `--latency-ms` to every answer.

It prints one JSON line on stdout when ready (`url`, `tasks`), then answers each line read on
stdin: `counts` prints the requests and bytes answered per vendor since the last `counts` (and
starts counting again). It stops at the end of stdin.

    python benchmarks/seeded_emulator.py [--runs 10000] [--tasks 50] [--latency-ms 50]
        [--bland-only]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from naive_list import walk_all

from reconciler import emulator
from reconciler.emulator.arize import CATALOGUE_TAG, global_id

KEYS = {"bland": "bench-bland", "adaline": "bench-adaline", "arize": "bench-arize"}
# prompt -> (evaluator, dataset): one AdalineEvaluation per prompt in the bench's manifests
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
VENDORS = {"BlandApi": "bland", "AdalineApi": "adaline", "ArizeApi": "arize"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="live runs per vendor")
    parser.add_argument("--tasks", type=int, default=50, help="Arize tasks")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    parser.add_argument("--bland-only", action="store_true", help="seed only Bland")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    server = emulator.make_server("127.0.0.1", 0, seed=args.seed)
    started = time.perf_counter()
    server.bland.seed_runs(KEYS["bland"], args.runs)
    per_prompt = 0 if args.bland_only else args.runs // len(PROMPTS)
    for prompt, (evaluator, _) in PROMPTS.items():
        server.adaline.seed_runs(
            KEYS["adaline"], per_prompt, prompt_id=prompt, evaluator_id=evaluator
        )
    tasks = [global_id("OnlineTask", 1, CATALOGUE_TAG), *server.arize.add_tasks(args.tasks - 1)]
    per_task = 0 if args.bland_only else args.runs // args.tasks
    for task in tasks:
        server.arize.seed_runs(KEYS["arize"], per_task, task_id=task)
    seeded = time.perf_counter() - started
    with emulator.serve_in_thread(server, poll_interval=0.05) as url:
        started = time.perf_counter()
        prompts = [(p, e, d) for p, (e, d) in PROMPTS.items()]
        walk_all(url, keys=KEYS, bland=True, prompts=prompts, tasks=tasks, timeout_s=600.0)
        warmed = time.perf_counter() - started
        time.sleep(0.2)  # answers still being counted
        server.faults = emulator.Faults(latency_ms=args.latency_ms)
        server.requests.clear()
        server.bytes_sent.clear()
        ready = {"url": url, "tasks": tasks, "seed_s": round(seeded, 1)}
        print(json.dumps({**ready, "warm_s": round(warmed, 1)}), flush=True)
        for line in sys.stdin:
            if line.strip() == "counts":
                requests = {VENDORS.get(k, k): n for k, n in server.requests.items()}
                sent = {VENDORS.get(k, k): n for k, n in server.bytes_sent.items()}
                server.requests.clear()
                server.bytes_sent.clear()
                print(json.dumps({"requests": requests, "bytes": sent}), flush=True)


if __name__ == "__main__":
    main()
