"""List throughput of the emulator over loopback: full 100-item pages, 8 concurrent clients.

The emulator must never be the bottleneck of the other benchmarks; target at least 500
requests/s. The server runs in its own process, each client in another (keep-alive
connections, `http.client` so the clients' own cost stays small), as a real vendor would
be measured. The last line printed is one JSON object with the figures.

    python benchmarks/bench_emulator.py [--clients 8] [--seconds 5] [--runs 2000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import time

KEY = "bench-key"


def serve(port_queue: mp.Queue, runs: int) -> None:  # type: ignore[type-arg]
    from reconciler import emulator

    server = emulator.make_server("127.0.0.1", 0, seed=1)
    server.bland.seed_runs(KEY, runs)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def client(port: int, seconds: float, start: float, results: mp.Queue) -> None:  # type: ignore[type-arg]
    connection = http.client.HTTPConnection("127.0.0.1", port)
    while time.time() < start:
        time.sleep(0.001)
    done = items = 0
    cursor = ""
    deadline = start + seconds
    while time.time() < deadline:
        query = "/v1/evals/runs?limit=100" + (f"&starting_after={cursor}" if cursor else "")
        connection.request("GET", query, headers={"authorization": KEY})
        response = connection.getresponse()
        page = json.loads(response.read())["data"]
        assert response.status == 200, page
        done += 1
        items += len(page["data"])
        cursor = page["next_cursor"] or ""
    results.put((done, items))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()

    ports: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    server = mp.Process(target=serve, args=(ports, args.runs), daemon=True)
    server.start()
    port = ports.get(timeout=60)
    results: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    start = time.time() + 1.0
    clients = [
        mp.Process(target=client, args=(port, args.seconds, start, results))
        for _ in range(args.clients)
    ]
    for process in clients:
        process.start()
    totals = [results.get(timeout=args.seconds + 60) for _ in clients]
    for process in clients:
        process.join()
    server.terminate()
    requests = sum(t[0] for t in totals)
    items = sum(t[1] for t in totals)
    rate = requests / args.seconds
    print(f"{args.clients} clients, {args.seconds:.0f} s: {requests} pages, {items} runs")
    print(f"{rate:.0f} requests/s of {items / max(requests, 1):.1f}-item pages (target >= 500)")
    row = {"clients": args.clients, "requests_per_s": round(rate, 1), "items_per_page": 100}
    print(json.dumps({"bench": "emulator", "rows": [row], "target_requests_per_s": 500}))


if __name__ == "__main__":
    main()
