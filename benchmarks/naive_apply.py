"""The script a user writes without reconciler: one Bland create after another, nothing more.

A plain sequential loop over N `POST /v1/evals/runs` with httpx: one keep-alive client (the
fair version; `httpx.post` per call would also pay a TCP connect each time), the run's body
and ownership-ish metadata, no concurrency, no retries, no look for runs that already exist.
bench_apply.py times it against `reconciler apply`. The last line printed is one JSON object.

    python benchmarks/naive_apply.py [--n 1000] [--latency-ms 50]    # own emulator
    python benchmarks/naive_apply.py --base-url URL --key KEY [--n 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from contextlib import ExitStack

import httpx

AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
CALLS = 5000  # the emulator catalogue's call ids


def call_id(n: int) -> str:
    """Return catalogue call id `n` (1..5000)."""
    return f"a1b2c3d4-0000-4000-8000-{(n - 1) % CALLS + 1:012d}"


def run(base_url: str, key: str, n: int) -> float:
    """Create `n` Bland eval runs one after another; return the seconds it took."""
    with httpx.Client(
        base_url=base_url.rstrip("/"), headers={"authorization": key}, timeout=30.0
    ) as client:
        started = time.perf_counter()
        for i in range(n):
            body = {
                "call_ids": [call_id(i + 1)],
                "attached_agents": [{"eval_agent_id": AGENT}],
                "metadata": {"owner": "naive-script", "workspace": "bench", "name": f"run-{i}"},
            }
            response = client.post("/v1/evals/runs", json=body)
            response.raise_for_status()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", help="a running emulator or API (default: start one)")
    parser.add_argument("--key", default=os.environ.get("BLAND_API_KEY", "bench-naive"))
    parser.add_argument("--n", type=int, default=1000, help="runs to create")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="of the own emulator")
    args = parser.parse_args()

    with ExitStack() as serving:
        base_url = args.base_url
        if base_url is None:
            from reconciler import emulator

            faults = emulator.Faults(latency_ms=args.latency_ms)
            base_url = serving.enter_context(emulator.serve_in_thread(seed=1, faults=faults))
        seconds = run(base_url, args.key, args.n)
    print(f"naive sequential apply: {args.n} creates in {seconds:.2f} s")
    print(json.dumps({"bench": "naive_apply", "creates": args.n, "seconds": round(seconds, 3)}))


if __name__ == "__main__":
    main()
