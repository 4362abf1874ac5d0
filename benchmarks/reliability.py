"""Reliability under faults: the world of tests/e2e/test_faults.py, for hundreds of seeds.

For each seed: a fresh emulator whose three vendors answer 10 % 429s, 10 % 5xx, drop 5 % of
connections and lose the answer of 5 % of creates; the same seeded runs (unmanaged, foreign,
finished, two orphans) and 3 resources per vendor; then `reconciler --debug apply
--auto-approve` in-process (click's CliRunner) until the vendors, listed over plain HTTP,
hold exactly one satisfying run per resource and the orphans are cancelled, at most 3 times.

Counted per seed: converged (and after which apply), duplicates left (a resource with two
satisfying runs), extra creates (runs of a resource beyond one, even if cancelled since),
wrong cancels (a cancel asked for, or done, on an unmanaged, foreign or finished run), key
leaks (a canary key in any output) and CLI crashes. Seeds run in parallel processes.

The transport's backoff base (1 s) and the emulator's `Retry-After: 1` on every 429 have no
public setting, so they are not shortened here; `max_retries` and `timeout_s` are set in
reconciler.yaml (tests/e2e/world.py). The last line printed is one JSON object.

    python benchmarks/reliability.py [--seeds 200] [--first 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the world lives with the tests that share it
    sys.path.insert(0, str(ROOT))

APPLIES = 3


def one_seed(seed: int) -> dict[str, Any]:
    """Run the world for one seed; return its figures."""
    from tests.e2e.world import World

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"reliability-{seed}-") as directory:
        world = World(Path(directory), seed=seed)
        try:
            report = world.converge(applies=APPLIES)
        except Exception as exc:  # noqa: BLE001 - a harness failure is a figure, not a crash
            return {"seed": seed, "error": f"{type(exc).__name__}: {exc}", "seconds": 0.0}
        finally:
            world.close()
    verdict = report.verdict
    assert verdict is not None
    return {
        "seed": seed,
        "converged_after": report.converged_after,
        "exit_codes": report.applies,
        "duplicates": verdict.duplicates,
        "extra_creates": verdict.extra_creates,
        "wrong_cancels": len(verdict.wrong_cancels),
        "leaks": report.leaks,
        "crashes": report.crashes,
        "missing": list(verdict.missing),
        "orphans_left": list(verdict.orphans_left),
        "failures": report.failures,
        "seconds": time.monotonic() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200, help="how many seeds (default 200)")
    parser.add_argument("--first", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="processes (default: 2 per core; a seed mostly waits on backoffs)",
    )
    args = parser.parse_args()
    seeds = range(args.first, args.first + args.seeds)
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        for row in pool.map(one_seed, seeds):
            rows.append(row)
            if row.get("error") or row.get("converged_after") != 1 or _bad(row):
                print(_line(row), flush=True)
    seconds = time.monotonic() - started

    errors = [r for r in rows if r.get("error")]
    ok = [r for r in rows if not r.get("error")]
    by_apply = {str(n): sum(1 for r in ok if r["converged_after"] == n) for n in (1, 2, 3)}
    converged = sum(by_apply.values())
    totals = {k: sum(r[k] for r in ok) for k in ("duplicates", "wrong_cancels", "leaks")}
    extra = sum(r["extra_creates"] for r in ok)
    crashes = sum(len(r["crashes"]) for r in ok)
    per_seed = sorted(r["seconds"] for r in ok) or [0.0]

    print()
    print(f"{'figure':<34}{'value':>10}")
    print("-" * 44)
    for name, value in (
        ("seeds", len(rows)),
        ("converged", converged),
        ("  after apply 1", by_apply["1"]),
        ("  after apply 2", by_apply["2"]),
        ("  after apply 3", by_apply["3"]),
        ("not converged after 3 applies", len(ok) - converged),
        ("duplicates left", totals["duplicates"]),
        ("extra creates (healed or not)", extra),
        ("wrong cancels", totals["wrong_cancels"]),
        ("key leaks", totals["leaks"]),
        ("CLI crashes", crashes),
        ("harness errors", len(errors)),
        ("seconds per seed, median", round(per_seed[len(per_seed) // 2], 1)),
        ("seconds per seed, max", round(per_seed[-1], 1)),
        ("seconds, wall", round(seconds, 1)),
    ):
        print(f"{name:<34}{value:>10}")
    print(
        json.dumps(
            {
                "bench": "reliability",
                "seeds": len(rows),
                "converged": converged,
                "converged_by_apply": by_apply,
                "duplicates": totals["duplicates"],
                "wrong_cancels": totals["wrong_cancels"],
                "leaks": totals["leaks"],
                "seconds": round(seconds, 1),
            }
        )
    )


def _bad(row: dict[str, Any]) -> bool:
    return bool(
        row["duplicates"]
        or row["extra_creates"]
        or row["wrong_cancels"]
        or row["leaks"]
        or row["crashes"]
    )


def _line(row: dict[str, Any]) -> str:
    if row.get("error"):
        return f"seed {row['seed']}: harness error: {row['error']}"
    return (
        f"seed {row['seed']}: converged after {row['converged_after']}, exits "
        f"{row['exit_codes']}, duplicates {row['duplicates']}, extra creates "
        f"{row['extra_creates']}, wrong cancels {row['wrong_cancels']}, leaks {row['leaks']}, "
        f"missing {row['missing']}, orphans left {row['orphans_left']}, crashes {row['crashes']}"
        + "".join(f"\n    {line[:300]}" for line in row["failures"])
    )


if __name__ == "__main__":
    main()
