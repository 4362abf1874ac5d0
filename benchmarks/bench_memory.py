"""What one live run costs in memory once listed, per vendor, by part (tracemalloc).

The emulator (in this process, stopped before measuring) serves `--runs` runs per vendor:
Bland (the organisation), Adaline (one prompt, one key), Arize (one task). Their list pages
are read over loopback and kept as text; then each vendor's pages are decoded and parsed by
the real parsers (`parse_run`, `parse_evaluation`, `parse_task_run`) under tracemalloc, and
the bytes still held per run are reported: with the leaves kept (what `import` keeps, the
baseline) and without (what `plan` and `status` keep for a run no declared resource can
claim, `live.claimed_leaves`). Parts are measured on the objects themselves (sys.getsizeof,
shared objects counted once per part). One JSON line per vendor, then one with all.

    python benchmarks/bench_memory.py [--runs 3000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tracemalloc
from collections.abc import Callable

import httpx

from reconciler import emulator
from reconciler.emulator.arize import CATALOGUE_TAG, global_id
from reconciler.model import LiveRun
from reconciler.providers.adaline import parse_evaluation
from reconciler.providers.arize import parse_task_run
from reconciler.providers.base import KeepLeaves, every_run, no_run
from reconciler.providers.bland import parse_run

KEYS = {"bland": "bench-bland", "adaline": "bench-adaline", "arize": "bench-arize"}
PROMPT, EVALUATOR = "prompt_checkout_assistant_0001", "evaluator_checkout_accuracy_0001"
TASK = global_id("OnlineTask", 1, CATALOGUE_TAG)
PARTS = ("run_id", "status", "created_at", "labels", "natural_key", "created_by", "metrics")
PARTS += ("fields",)


def pages(url: str, path: str, key: str, items: str, size: int) -> list[str]:
    """Read every page of one list; return each page's items as JSON text."""
    texts: list[str] = []
    cursor: str | None = None
    with httpx.Client(base_url=url, headers={"authorization": key}, timeout=60) as client:
        while True:
            params: dict[str, str | int] = {"limit": size}
            if cursor:
                params["starting_after" if "evals" in path else "cursor"] = cursor
            body = client.get(path, params=params).json()
            page = body.get("data", body) if "evals" in path else body
            texts.append(json.dumps(page[items]))
            more = page.get("has_more") if "evals" in path else page["pagination"]
            if isinstance(more, dict):
                cursor = more.get("nextCursor") or more.get("next_cursor")
                more = more.get("hasMore", more.get("has_more"))
            else:
                cursor = page.get("next_cursor")
            if not more:
                return texts


def deep_size(value: object, seen: set[int]) -> int:
    """Bytes of `value` and what it holds, each object counted once in `seen`."""
    if value is None or isinstance(value, bool) or id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, tuple | list):
        size += sum(deep_size(item, seen) for item in value)
    elif hasattr(type(value), "__slots__") and not isinstance(value, str):
        for cls in type(value).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                size += deep_size(getattr(value, slot, None), seen)
    return size


def measure(texts: list[str], parse: Callable[[object, KeepLeaves], LiveRun], keep: KeepLeaves):
    """Parse every page under tracemalloc; return (runs, bytes held per run, parts per run)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    runs = [parse(item, keep) for text in texts for item in json.loads(text)]
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before - sys.getsizeof(runs)
    tracemalloc.stop()
    n = len(runs)
    parts = {}
    for part in PARTS:
        seen: set[int] = set()
        parts[part] = round(sum(deep_size(getattr(r, part), seen) for r in runs) / n)
    parts["liverun_object"] = sys.getsizeof(runs[0])
    return n, round(held / n), parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000, help="runs per vendor")
    args = parser.parse_args()
    server = emulator.make_server("127.0.0.1", 0, seed=1)
    server.bland.seed_runs(KEYS["bland"], args.runs)
    server.adaline.seed_runs(KEYS["adaline"], args.runs, prompt_id=PROMPT, evaluator_id=EVALUATOR)
    server.arize.seed_runs(KEYS["arize"], args.runs, task_id=TASK)
    with emulator.serve_in_thread(server, poll_interval=0.05) as url:
        texts = {
            "bland": pages(url, "/v1/evals/runs", KEYS["bland"], "data", 100),
            "adaline": pages(
                url,
                f"/v2/prompts/{PROMPT}/evaluations",
                "Bearer " + KEYS["adaline"],
                "evaluations",
                200,
            ),
            "arize": pages(
                url, f"/v2/tasks/{TASK}/runs", "Bearer " + KEYS["arize"], "task_runs", 100
            ),
        }
    parsers: dict[str, Callable[[object, KeepLeaves], LiveRun]] = {
        "bland": lambda item, keep: parse_run(item, keep_leaves=keep),
        "adaline": lambda item, keep: parse_evaluation(item, prompt_id=PROMPT, keep_leaves=keep),
        "arize": lambda item, keep: parse_task_run(item, keep_leaves=keep),
    }
    rows = []
    for vendor, pages_of_vendor in texts.items():
        parsers[vendor](json.loads(pages_of_vendor[0])[0], no_run)  # caches, once
        n, kept, kept_parts = measure(pages_of_vendor, parsers[vendor], every_run)
        _, bare, bare_parts = measure(pages_of_vendor, parsers[vendor], no_run)
        row = {
            "case": vendor,
            "runs": n,
            "bytes_per_run_with_leaves": kept,  # the baseline: what import keeps
            "bytes_per_run_without_leaves": bare,  # plan/status, a run no resource claims
            "parts_with_leaves": kept_parts,
            "parts_without_leaves": bare_parts,
            "load_1min": round(os.getloadavg()[0], 2),
        }
        rows.append(row)
        print(json.dumps(row))
    print(json.dumps({"bench": "memory", "rows": rows}))


if __name__ == "__main__":
    main()
