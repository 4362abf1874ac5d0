"""The script a user writes without reconciler: walk the same list pages `plan` reads.

One keep-alive httpx client per vendor (at most `--threads` connections each), and the same
concurrency reconciler uses (`max_concurrency`, default 8): the vendors are walked at once,
and inside a vendor the independent chains run in parallel on `--threads` threads while the
pages of one chain go one after another (each needs the cursor the previous page returned):

- Bland: one chain, the organisation's run list (`GET /v1/evals/runs?limit=100`,
  `starting_after` = `next_cursor` or the last item's id);
- Adaline: one chain per `--prompt PROMPT:EVALUATOR:DATASET` (`GET
  /v2/prompts/{prompt}/evaluations?limit=200&sort=createdAt:desc` filtered on the evaluator
  and the dataset, `cursor` = `pagination.nextCursor`), as reconciler lists a prompt that one
  resource names;
- Arize: one chain per `--task`: the task read (`GET /v2/tasks/{task}`, reconciler reads it to
  check the resource fits the task's type) and then its run pages (`GET
  /v2/tasks/{task}/runs?limit=100`, `cursor` = `pagination.next_cursor`).

Nothing is parsed beyond the JSON needed for the next cursor: no run objects, no retries, no
pricing. bench_plan_e2e.py times this whole process beside `reconciler plan`. The last line
printed is one JSON object with the seconds (from the first request) and the requests made.

    python benchmarks/naive_list.py --base-url URL [--bland] [--prompt P:E:D ...]
        [--task TASK ...] [--threads 8]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx

Page = dict[str, object]


def _walk(
    client: httpx.Client,
    path: str,
    query: dict[str, str | int],
    cursor_name: str,
    next_of: Callable[[Page], str | None],
) -> int:
    """Read one chain of pages (each asks for the cursor the one before gave); count them."""
    cursor: str | None = None
    pages = 0
    while True:
        params = query if cursor is None else {**query, cursor_name: cursor}
        answer = client.get(path, params=params)
        answer.raise_for_status()
        pages += 1
        cursor = next_of(answer.json())
        if cursor is None:
            return pages


def _bland(client: httpx.Client) -> int:
    def next_of(page: Page) -> str | None:
        data = page["data"]
        assert isinstance(data, dict)
        if not data["has_more"]:
            return None
        return str(data.get("next_cursor") or data["data"][-1]["id"])

    return _walk(client, "/v1/evals/runs", {"limit": 100}, "starting_after", next_of)


def _adaline(client: httpx.Client, prompt: str, evaluator: str, dataset: str) -> int:
    query: dict[str, str | int] = {"limit": 200, "sort": "createdAt:desc"}
    query |= {"evaluatorId": evaluator, "datasetId": dataset}

    def next_of(page: Page) -> str | None:
        pagination = page["pagination"]
        assert isinstance(pagination, dict)
        return str(pagination["nextCursor"]) if pagination["hasMore"] else None

    path = f"/prompts/{quote(prompt, safe='')}/evaluations"
    return _walk(client, path, query, "cursor", next_of)


def _arize(client: httpx.Client, task: str) -> int:
    path = f"/v2/tasks/{quote(task, safe='')}"
    client.get(path).raise_for_status()

    def next_of(page: Page) -> str | None:
        pagination = page["pagination"]
        assert isinstance(pagination, dict)
        return str(pagination["next_cursor"]) if pagination["has_more"] else None

    return 1 + _walk(client, f"{path}/runs", {"limit": 100}, "cursor", next_of)


def _client(base_url: str, authorization: str, threads: int, timeout_s: float) -> httpx.Client:
    limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
    return httpx.Client(
        base_url=base_url,
        headers={"authorization": authorization},
        timeout=timeout_s,
        limits=limits,
    )


def walk_all(
    base_url: str,
    *,
    keys: dict[str, str],
    bland: bool,
    prompts: list[tuple[str, str, str]],
    tasks: list[str],
    threads: int = 8,
    timeout_s: float = 30.0,
) -> dict[str, int]:
    """Walk every chain, each vendor at once with `threads` workers; return requests per vendor.

    `timeout_s` per request: seeded_emulator's untimed warm-up gives a large one, since the
    emulator's first list of 50,000 runs per Adaline prompt builds its caches for a while.
    """
    base = base_url.rstrip("/")
    clients = {
        "bland": _client(base, keys["bland"], threads, timeout_s),
        "adaline": _client(f"{base}/v2", f"Bearer {keys['adaline']}", threads, timeout_s),
        "arize": _client(base, f"Bearer {keys['arize']}", threads, timeout_s),
    }

    def chains(vendor: str) -> Iterator[Callable[[], int]]:
        client = clients[vendor]
        if vendor == "bland" and bland:
            yield lambda: _bland(client)
        if vendor == "adaline":
            for prompt, evaluator, dataset in prompts:
                yield lambda p=prompt, e=evaluator, d=dataset: _adaline(client, p, e, d)
        if vendor == "arize":
            for task in tasks:
                yield lambda t=task: _arize(client, t)

    def one_vendor(vendor: str) -> int:
        todo = list(chains(vendor))
        if len(todo) <= 1:
            return sum(chain() for chain in todo)
        with ThreadPoolExecutor(max_workers=min(threads, len(todo))) as pool:
            return sum(pool.map(lambda chain: chain(), todo))

    try:
        with ThreadPoolExecutor(max_workers=len(clients)) as pool:
            counts = dict(zip(clients, pool.map(one_vendor, clients), strict=True))
    finally:
        for client in clients.values():
            client.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="a running emulator")
    parser.add_argument("--bland", action="store_true", help="walk Bland's run list")
    parser.add_argument(
        "--prompt", action="append", default=[], help="PROMPT:EVALUATOR:DATASET (Adaline)"
    )
    parser.add_argument("--task", action="append", default=[], help="an Arize task id")
    parser.add_argument("--threads", type=int, default=8, help="reconciler's max_concurrency")
    args = parser.parse_args()
    keys = {
        vendor: os.environ.get(f"{vendor.upper()}_API_KEY", f"bench-{vendor}")
        for vendor in ("bland", "adaline", "arize")
    }
    prompts = [tuple(p.split(":")) for p in args.prompt]
    started = time.perf_counter()
    counts = walk_all(
        args.base_url,
        keys=keys,
        bland=args.bland,
        prompts=prompts,  # type: ignore[arg-type]
        tasks=args.task,
        threads=args.threads,
    )
    seconds = time.perf_counter() - started
    print(f"naive list ({args.threads} threads a vendor): {counts} requests in {seconds:.2f} s")
    print(
        json.dumps(
            {
                "bench": "naive_list",
                "threads": args.threads,
                "requests": counts,
                "seconds": round(seconds, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
