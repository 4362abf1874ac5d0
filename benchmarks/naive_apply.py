"""The script a user writes without reconciler: Bland creates from a plain httpx loop.

N `POST /v1/evals/runs` with one keep-alive httpx client (the fair version; `httpx.post`
per call would also pay a TCP connect each time), the run's body and ownership-ish
metadata, no retries, no look for runs that already exist. `--threads T` sends them from T
threads (the loop a user would write to go as fast as reconciler's max_concurrency 8);
`--threads 1` is the sequential loop. `--rps R` paces the sends to R per second with one
schedule shared by the threads (a vendor limit the script knows). bench_apply.py times it
beside `reconciler apply`. The last line printed is one JSON object.

    python benchmarks/naive_apply.py --base-url URL --key KEY [--n 1000] [--threads 8] [--rps 100]
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
CALLS = 5000  # the emulator catalogue's call ids


def call_id(n: int) -> str:
    """Return catalogue call id `n` (1..5000)."""
    return f"a1b2c3d4-0000-4000-8000-{(n - 1) % CALLS + 1:012d}"


def run(base_url: str, key: str, n: int, *, threads: int, rps: float | None) -> float:
    """Create `n` Bland eval runs from `threads` threads at most `rps` a second; return s."""
    lock = threading.Lock()
    schedule = [0.0]

    def pace() -> None:
        if not rps:
            return
        with lock:
            now = time.perf_counter()
            at = max(now, schedule[0])
            schedule[0] = at + 1.0 / rps
        if at > now:
            time.sleep(at - now)

    limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
    with httpx.Client(
        base_url=base_url.rstrip("/"), headers={"authorization": key}, timeout=30.0, limits=limits
    ) as client:

        def create(i: int) -> None:
            body = {
                "call_ids": [call_id(i + 1)],
                "attached_agents": [{"eval_agent_id": AGENT}],
                "metadata": {"owner": "naive-script", "workspace": "bench", "name": f"run-{i}"},
            }
            pace()
            client.post("/v1/evals/runs", json=body).raise_for_status()

        started = time.perf_counter()
        if threads <= 1:
            for i in range(n):
                create(i)
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(create, range(n)))
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="a running emulator or API")
    parser.add_argument("--key", default=os.environ.get("BLAND_API_KEY", "bench-naive"))
    parser.add_argument("--n", type=int, default=1000, help="runs to create")
    parser.add_argument("--threads", type=int, default=1, help="1: the sequential loop")
    parser.add_argument("--rps", type=float, default=None, help="pace to this many per second")
    args = parser.parse_args()
    seconds = run(args.base_url, args.key, args.n, threads=args.threads, rps=args.rps)
    print(
        f"naive apply ({args.threads} thread(s), rps {args.rps}): {args.n} creates in "
        f"{seconds:.2f} s"
    )
    print(
        json.dumps(
            {
                "bench": "naive_apply",
                "creates": args.n,
                "threads": args.threads,
                "rps": args.rps,
                "seconds": round(seconds, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
