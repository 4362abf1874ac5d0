"""List throughput of the emulator over loopback, per vendor: full pages, 8 concurrent clients.

The emulator must never be the bottleneck of the other benchmarks; target at least 500
requests/s per vendor, and a page must cost O(page), not O(runs): each vendor is measured
with `--runs` live runs (default 100,000) in the one list the clients walk (Bland: the
organisation; Adaline: one prompt; Arize: one task), in each `--list-order`. The server runs
in its own process, each client in another (keep-alive connections, `http.client` so the
clients' own cost stays small), as a real vendor would be measured. The last line printed
is one JSON object with the figures.

    python benchmarks/bench_emulator.py [--clients 8] [--seconds 5] [--runs 100000]
        [--vendors bland,adaline,arize] [--orders newest,oldest,shuffled]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import time
from typing import Any
from urllib.parse import quote

KEY = "bench-key"
ADALINE_PROMPT = "prompt_checkout_assistant_0001"


def serve(port_queue: mp.Queue, runs: int, vendor: str, order: str) -> None:  # type: ignore[type-arg]
    from reconciler import emulator

    server = emulator.make_server("127.0.0.1", 0, seed=1, list_order=order)
    task = ""
    if vendor == "bland":
        server.bland.seed_runs(KEY, runs)
    elif vendor == "adaline":
        server.adaline.seed_runs(KEY, runs, prompt_id=ADALINE_PROMPT)
    else:
        from reconciler.emulator.arize import CATALOGUE_TAG, global_id

        task = global_id("OnlineTask", 1, CATALOGUE_TAG)
        server.arize.seed_runs(KEY, runs, task_id=task)
    port_queue.put((server.server_address[1], task))
    server.serve_forever()


def _next(vendor: str, body: dict[str, Any]) -> tuple[int, str]:
    """Return (items on the page, the cursor of the next page or '')."""
    if vendor == "bland":
        page = body["data"]
        return len(page["data"]), page["next_cursor"] or ""
    if vendor == "adaline":
        return len(body["evaluations"]), body["pagination"]["nextCursor"] or ""
    return len(body["task_runs"]), body["pagination"].get("next_cursor") or ""


def _path(vendor: str, task: str, cursor: str) -> tuple[str, dict[str, str]]:
    if vendor == "bland":
        tail = f"&starting_after={cursor}" if cursor else ""
        return "/v1/evals/runs?limit=100" + tail, {"authorization": KEY}
    bearer = {"authorization": f"Bearer {KEY}"}
    if vendor == "adaline":
        tail = f"&cursor={quote(cursor)}" if cursor else ""
        return f"/v2/prompts/{ADALINE_PROMPT}/evaluations?limit=200" + tail, bearer
    tail = f"&cursor={quote(cursor)}" if cursor else ""
    return f"/v2/tasks/{quote(task)}/runs?limit=100" + tail, bearer


def client(
    port: int, vendor: str, task: str, seconds: float, start: float, results: mp.Queue
) -> None:  # type: ignore[type-arg]
    connection = http.client.HTTPConnection("127.0.0.1", port)
    while time.time() < start:
        time.sleep(0.001)
    done = items = 0
    cursor = ""
    deadline = start + seconds
    while time.time() < deadline:
        path, headers = _path(vendor, task, cursor)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = json.loads(response.read())
        assert response.status == 200, body
        count, cursor = _next(vendor, body)
        done += 1
        items += count
    results.put((done, items))


def measure(vendor: str, order: str, args: argparse.Namespace) -> dict[str, Any]:
    ports: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    server = mp.Process(target=serve, args=(ports, args.runs, vendor, order), daemon=True)
    server.start()
    port, task = ports.get(timeout=600)
    # One page first, timed apart: it builds what the emulator caches (Adaline's schedule of
    # every run of the workspace), as the first plan against a fresh emulator would.
    warm = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    began = time.perf_counter()
    first, headers = _path(vendor, task, "")
    warm.request("GET", first, headers=headers)
    warm.getresponse().read()
    first_page_s = time.perf_counter() - began
    warm.close()
    results: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    start = time.time() + 1.0
    clients = [
        mp.Process(target=client, args=(port, vendor, task, args.seconds, start, results))
        for _ in range(args.clients)
    ]
    for process in clients:
        process.start()
    totals = [results.get(timeout=args.seconds + 600) for _ in clients]
    for process in clients:
        process.join()
    server.terminate()
    requests = sum(t[0] for t in totals)
    items = sum(t[1] for t in totals)
    rate = requests / args.seconds
    row = {
        "vendor": vendor,
        "list_order": order,
        "live_runs": args.runs,
        "clients": args.clients,
        "requests_per_s": round(rate, 1),
        "items_per_page": round(items / max(requests, 1), 1),
        "first_page_s": round(first_page_s, 3),
        "load_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--vendors", default="bland,adaline,arize")
    parser.add_argument("--orders", default="newest")
    args = parser.parse_args()
    rows = [
        measure(vendor, order, args)
        for vendor in args.vendors.split(",")
        for order in args.orders.split(",")
    ]
    print(json.dumps({"bench": "emulator", "rows": rows, "target_requests_per_s": 500}))


if __name__ == "__main__":
    main()
