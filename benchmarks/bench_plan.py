"""Time `plan()` on large, realistic states: 1,000 and 10,000 Bland resources, 10x live runs.

Targets (issue #13): 10,000 resources x 100,000 runs planned in at most 0.3 s with at most
150 MiB peak RSS; the 10k time at most 12x the 1k time (near-linear planning).

Each size runs in a fresh subprocess, so its peak RSS (`ru_maxrss`) is its own. The figure
timed is the best of 3 calls of `plan()`; building the inputs is not timed.

The live state per declared resource (9 runs each):
  ~90% satisfied: a current managed run (active or complete) plus finished history
       (older specs complete or failed, older runs of the current spec complete);
   ~5% create: only runs of older specs, all finished;
   ~5% replace: an active run of an older spec plus finished history.
Beside them: undeclared addresses (~2% of the resources, one active run each plus history: the
prunes), and runs of another workspace and unlabelled runs, about 4.5% of the runs each.

Usage: python benchmarks/bench_plan.py [--sizes 1000 10000]
Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from reconciler.model import (
    JSON,
    Action,
    Address,
    Kind,
    Lifecycle,
    LiveRun,
    PlanSettings,
    Resource,
    RunPhase,
    SourceLocation,
    Vendor,
    ownership_labels,
)
from reconciler.plan import plan

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WORKSPACE = "bench"
RUNS_PER_RESOURCE = 9
HISTORY_PER_PRUNE = 4
REPEATS = 7  # best of 7: the 1k plan takes ~40 ms, where one noisy run skews the ratio


def _spec(index: int, version: int) -> dict[str, JSON]:
    return {
        "call_ids": [f"call-{index}-{k}" for k in range(5)],
        "attached_agents": [{"eval_agent_id": f"agent-{index % 17}"}, {"eval_agent_id": "judge"}],
        "pass_threshold_pct": 70 + version,
        "run_mode": "text",
    }


def _resource(index: int, version: int = 0) -> Resource:
    name = f"eval-{index:06d}"
    return Resource.build(
        address=Address(Kind.BLAND_EVAL_RUN, name),
        spec=_spec(index, version),
        lifecycle=Lifecycle(),
        source=SourceLocation(path=f"evals/{name}.yaml", line=1),
    )


class _Runs:
    """Numbers runs and spaces their creation times, oldest first."""

    def __init__(self) -> None:
        self.runs: list[LiveRun] = []

    def add(
        self,
        of: Resource,
        status: str,
        *,
        minutes_ago: int,
        workspace: str | None = WORKSPACE,
    ) -> None:
        number = len(self.runs)
        labels = (
            ownership_labels(of, workspace=workspace, request_id=f"req-{number:07d}")
            if workspace is not None
            else ()
        )
        self.runs.append(
            LiveRun(
                vendor=Vendor.BLAND,
                run_id=f"run-{number:07d}",
                status=status,
                phase=RunPhase.from_status(status),
                created_at=NOW - timedelta(minutes=minutes_ago, seconds=number % 60),
                labels=labels,
                adopt_key=of.adopt_key,
            )
        )


def build(size: int) -> tuple[list[Resource], list[LiveRun]]:
    """Build `size` declared resources and `10 * size` live runs in the mix described above."""
    desired: list[Resource] = []
    runs = _Runs()
    for index in range(size):
        current = _resource(index)
        old = [_resource(index, version) for version in (1, 2)]
        desired.append(current)
        kind = index % 100
        if kind < 5:  # create: only finished runs of older specs
            for k in range(RUNS_PER_RESOURCE):
                status = ("complete", "failed", "cancelled")[k % 3]
                runs.add(old[k % 2], status, minutes_ago=1000 - k)
        elif kind < 10:  # replace: an active run of an older spec
            for k in range(RUNS_PER_RESOURCE - 1):
                runs.add(old[k % 2], ("complete", "failed")[k % 2], minutes_ago=1000 - k)
            runs.add(old[0], "running", minutes_ago=5)
        else:  # satisfied: the current run and its history
            for k in range(4):
                runs.add(old[k % 2], "complete", minutes_ago=2000 - k)
            for k in range(2):
                runs.add(old[k % 2], "failed", minutes_ago=1500 - k)
            for k in range(2):
                runs.add(current, "complete", minutes_ago=1000 - k)
            runs.add(current, "running" if index % 2 else "complete", minutes_ago=10)
    for gone in range(size * 2 // 100):  # prunes: addresses no longer declared
        undeclared = _resource(size + gone)
        for k in range(HISTORY_PER_PRUNE):
            runs.add(undeclared, "complete", minutes_ago=3000 - k)
        runs.add(undeclared, "running", minutes_ago=20)
    others = 10 * size - len(runs.runs)
    for k in range(others):  # another workspace's runs and unlabelled runs
        of = desired[k % size]
        workspace = "other-team" if k % 2 else None
        runs.add(
            of,
            ("running", "complete", "failed")[k % 3],
            minutes_ago=30 + k % 500,
            workspace=workspace,
        )
    return desired, runs.runs


def measure(size: int) -> dict[str, object]:
    """Build one size, time `plan()` (best of 3) and report peak RSS of this process."""
    desired, live = build(size)
    settings = PlanSettings(workspace=WORKSPACE, now=NOW, allow_mass_cancel=True)
    gc.collect()  # the garbage of building the inputs is not the planner's to collect
    best = float("inf")
    result = None
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = plan(desired, live, settings=settings)
        best = min(best, time.perf_counter() - started)
    assert result is not None
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "resources": len(desired),
        "live_runs": len(live),
        "seconds": round(best, 4),
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "creates": result.count(Action.CREATE),
        "replaces": result.count(Action.REPLACE),
        "cancels": result.count(Action.CANCEL),
        "no_ops": result.count(Action.NO_OP),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child)))
        return
    rows = []
    for size in args.sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(size)],
            check=True,
            capture_output=True,
            text=True,
        )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{row['resources']:>6} resources x {row['live_runs']:>7} runs: "
            f"plan {row['seconds']:.3f} s, peak RSS {row['peak_rss_mb']:.0f} MB "
            f"({row['creates']} create, {row['replaces']} replace, {row['cancels']} cancel, "
            f"{row['no_ops']} no-op)"
        )
        rows.append({k: row[k] for k in ("resources", "live_runs", "seconds", "peak_rss_mb")})
    by_size = {r["resources"]: r["seconds"] for r in rows}
    scaling = round(by_size[10000] / by_size[1000], 2) if {1000, 10000} <= by_size.keys() else None
    big = next((r for r in rows if r["resources"] == 10000), None)
    met = None if big is None else big["seconds"] <= 0.3 and big["peak_rss_mb"] <= 150
    print(
        json.dumps(
            {
                "bench": "plan",
                "rows": rows,
                "scaling": scaling,
                "target": {"seconds": 0.3, "peak_rss_mib": 150},
                "met": met,
                "load_1min": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
