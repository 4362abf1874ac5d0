"""Time `reconciler --help` as a whole process, beside `python -c pass` from the same run.

Target (issue 3): median at most 0.3 s. Heavy modules (httpx, jsonschema, yaml, deepdiff)
must be imported lazily, by the commands that need them.

Usage: python benchmarks/bench_startup.py [--runs N]
Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def _time(argv: list[str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    rows = []
    for name, argv in (
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("reconciler --help", [sys.executable, "-m", "reconciler.cli", "--help"]),
        ("reconciler --version", [sys.executable, "-m", "reconciler.cli", "--version"]),
    ):
        _time(argv, 2)  # warm the OS file cache
        samples = _time(argv, args.runs)
        row = {
            "command": name,
            "runs": args.runs,
            "median_s": round(statistics.median(samples), 4),
            "min_s": round(min(samples), 4),
        }
        rows.append(row)
        print(f"{name:24} median {row['median_s']:.3f} s  min {row['min_s']:.3f} s")
    print(json.dumps({"bench": "startup", "target_median_s": 0.3, "rows": rows}))


if __name__ == "__main__":
    main()
