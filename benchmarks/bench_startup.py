"""Time start-up commands as whole processes, beside `python -c pass` from the same loop.

Targets (issue 13): `reconciler --help` median at most 0.12 s, `reconciler -C examples
validate` median at most 0.2 s. Heavy modules (httpx, jsonschema, deepdiff) must be
imported lazily, by the commands that need them; validate imports jsonschema only for a
manifest with schema errors.

`--before DIR` also runs each command from another checkout (PYTHONPATH=DIR, working
directory / so that `-m` does not pick this checkout up), in turn with this one, run by run:
the load of a shared machine hits both sides alike. The 1-minute load average is printed
beside each case.

Usage: python benchmarks/bench_startup.py [--runs N] [--before DIR]
Prints one JSON line per case, then one JSON object with them all.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from precompile import compile_trees

ROOT = str(Path(__file__).resolve().parent.parent)  # this checkout: the "after" side
EXAMPLES = str(Path(ROOT) / "examples")
CLI = [sys.executable, "-m", "reconciler.cli"]
CASES: list[tuple[str, list[str], float | None]] = [
    ("python -c pass", [sys.executable, "-c", "pass"], None),
    ("reconciler --help", [*CLI, "--help"], 0.12),
    ("reconciler --version", [*CLI, "--version"], None),
    ("reconciler -C examples validate", [*CLI, "-C", EXAMPLES, "validate"], 0.2),
]


def _once(argv: list[str], code: str) -> float:
    env = {**os.environ, "PYTHONPATH": code}
    started = time.perf_counter()
    subprocess.run(
        argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", env=env
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--before", help="another checkout to run beside this one")
    args = parser.parse_args()
    compile_trees(args.before)
    sides: dict[str, str] = (
        {"after": ROOT, "before": args.before} if args.before else {"after": ROOT}
    )
    rows = []
    for name, argv, target in CASES:
        for code in sides.values():
            _once(argv, code)  # warm the OS file cache and the bytecode caches
            _once(argv, code)
        samples: dict[str, list[float]] = {side: [] for side in sides}
        load = f"{os.getloadavg()[0]:.2f}"
        for _ in range(args.runs):
            for side, code in sides.items():
                samples[side].append(_once(argv, code))
        row: dict[str, object] = {"command": name, "runs": args.runs, "load_1m": load}
        for side, values in samples.items():
            row[f"{side}_median_s"] = round(statistics.median(values), 4)
            row[f"{side}_min_s"] = round(min(values), 4)
        if target is not None:
            row["target_median_s"] = target
            row["met"] = statistics.median(samples["after"]) <= target
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"bench": "startup", "rows": rows}))


if __name__ == "__main__":
    main()
