"""`reconciler plan` as a user waits for it, against many live runs, beside a plain client.

The emulator runs in its own process (`seeded_emulator.py`: seeded, warmed, then answering
every request `--latency-ms` late, 50 by default). Live runs per vendor (each size of
`--sizes`): Bland's organisation holds them all, Adaline splits them over the two prompts the
manifests name, Arize over `--tasks` tasks the manifests name. The manifests declare 10 Bland
runs (10 distinct bodies), one evaluation per Adaline prompt and one run per Arize task.

Each case runs, interleaved in one loop `--repeat` times (after one untimed warm-up round):
`reconciler plan`, `reconciler plan --no-cost`, `naive_list.py` (the plain client walking the
same pages with the same concurrency) and, with `--before DIR`, both plans from another
checkout (PYTHONPATH=DIR). Every figure is the wall time of a whole process, start-up
included, median of the repeats; the 1-minute load is printed beside each run.

Floor (what the vendors make any client wait): a vendor's listing is chains of requests
that must go one after another (Bland: ceil(runs/100) pages in one chain; Adaline: one chain
of ceil(runs per prompt/200) pages per prompt; Arize: one chain per task, its task read then
ceil(runs per task/100) pages); with C = max_concurrency (8) requests in flight per vendor,

    floor_vendor = max(longest chain, ceil(requests of all chains / C)) x latency
    floor = max over vendors (the vendors are listed at the same time)

A priced plan's estimates can only start once the vendor's listing says what is created:
`floor_priced` adds ceil(distinct Bland create bodies / C) x latency to Bland's floor.

Requests are counted by the emulator (per vendor) for every run and checked: list pages +
Arize task reads, plus one estimate per distinct create body when pricing (`plan`, not
`plan --no-cost`). Targets (issue 13): 1k runs per vendor: both plans <= 1.3 x naive_list;
10k per vendor: both plans <= 1.15 x `floor`; requests equal to the expected count.

`--memory` runs the memory cases instead, at no latency: 100k Bland runs only and 100k per
vendor (300k), one `reconciler plan` each, peak RSS of the plan process (targets 110 and 300
MiB). Each case prints one JSON line; the last line holds them all and `met`.

    python benchmarks/bench_plan_e2e.py [--sizes 1000,10000] [--repeat 5] [--before DIR]
    python benchmarks/bench_plan_e2e.py --memory [--before DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from precompile import compile_trees  # noqa: E402
from seeded_emulator import KEYS, PROMPTS  # noqa: E402

ENV = {f"{vendor.upper()}_API_KEY": key for vendor, key in KEYS.items()}
CONCURRENCY = 8  # reconciler's default max_concurrency, and naive_list's --threads
BLAND_RESOURCES = 10
# Runs the plan in a grandchild and prints its peak RSS last on stderr: measured from this
# process, a child forked from it would count this process's memory too.
PEAK = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run([sys.executable, *sys.argv[1:]]).returncode\n"
    "kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print('peak-rss-kib', kib, file=sys.stderr)\n"
    "sys.exit(code)\n"
)
AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"


def load() -> float:
    return round(os.getloadavg()[0], 2)


@dataclass
class Emulator:
    url: str
    tasks: list[str]
    control: IO[str]
    answers: IO[str]

    def counts(self) -> dict[str, int]:
        """Return the requests answered per vendor since the last call."""
        self.control.write("counts\n")
        self.control.flush()
        requests: dict[str, int] = json.loads(self.answers.readline())["requests"]
        return requests


@contextmanager
def seeded_emulator(
    runs: int, tasks: int, latency_ms: float, *, bland_only: bool
) -> Iterator[Emulator]:
    args = [sys.executable, str(HERE / "seeded_emulator.py"), "--runs", str(runs)]
    args += ["--tasks", str(tasks), "--latency-ms", str(latency_ms)]
    args += ["--bland-only"] if bland_only else []
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the emulator did not start")
        ready = json.loads(line)
        print(f"emulator seeded in {ready['seed_s']} s, warmed in {ready['warm_s']} s", flush=True)
        yield Emulator(ready["url"], ready["tasks"], proc.stdin, proc.stdout)
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def write_project(root: Path, url: str, tasks: list[str]) -> None:
    """Write reconciler.yaml (shipped defaults) and the manifests."""
    (root / "reconciler.yaml").write_text(
        "workspace: bench\n"
        'manifests: ["evals/*.yaml"]\n'
        "providers:\n"
        f'  bland: {{api_key: "${{BLAND_API_KEY}}", base_url: "{url}"}}\n'
        f'  adaline: {{api_key: "${{ADALINE_API_KEY}}", base_url: "{url}/v2"}}\n'
        f'  arize: {{api_key: "${{ARIZE_API_KEY}}", base_url: "{url}"}}\n'
    )
    docs = []
    for n in range(BLAND_RESOURCES):  # distinct call ids: distinct estimate bodies
        docs.append(
            f"apiVersion: reconciler/v1\nkind: BlandEvalRun\nmetadata: {{name: bland-{n}}}\n"
            f"spec:\n  call_ids: [a1b2c3d4-0000-4000-8000-{n + 1:012d}]\n"
            f"  attached_agents: [{{eval_agent_id: {AGENT}}}]\n"
        )
    for n, (prompt, (evaluator, dataset)) in enumerate(sorted(PROMPTS.items())):
        docs.append(
            f"apiVersion: reconciler/v1\nkind: AdalineEvaluation\nmetadata: {{name: adaline-{n}}}\n"
            f"spec: {{promptId: {prompt}, evaluatorId: {evaluator}, datasetId: {dataset}}}\n"
        )
    for n, task in enumerate(tasks):
        docs.append(
            f"apiVersion: reconciler/v1\nkind: ArizeTaskRun\nmetadata: {{name: arize-{n}}}\n"
            f'spec: {{task_id: "{task}", data_start_time: "2026-11-02T00:00:00Z", '
            'data_end_time: "2026-11-09T00:00:00Z"}\n'
        )
    (root / "evals").mkdir(exist_ok=True)
    (root / "evals" / "all.yaml").write_text("---\n".join(docs))


def chains(runs: int, tasks: int, *, bland_only: bool) -> dict[str, list[int]]:
    """Return, per vendor, the length of each chain of requests made one after another."""
    per_prompt = 0 if bland_only else runs // len(PROMPTS)
    per_task = 0 if bland_only else runs // tasks
    return {
        "bland": [max(1, math.ceil(runs / 100))],
        "adaline": [max(1, math.ceil(per_prompt / 200))] * len(PROMPTS),
        "arize": [1 + max(1, math.ceil(per_task / 100))] * tasks,
    }


def rounds(lengths: list[int]) -> int:
    """Return the rounds of requests these chains need with CONCURRENCY in flight."""
    return max(max(lengths), math.ceil(sum(lengths) / CONCURRENCY))


def floors(runs: int, tasks: int, latency_ms: float, *, bland_only: bool) -> dict[str, float]:
    """Return the listing floor per vendor, the plan's floor, and the priced plan's floor."""
    seconds = latency_ms / 1000
    per_vendor = {
        v: rounds(c) * seconds for v, c in chains(runs, tasks, bland_only=bland_only).items()
    }
    priced = dict(per_vendor)
    priced["bland"] += math.ceil(BLAND_RESOURCES / CONCURRENCY) * seconds
    return {
        **{f"floor_{v}_s": round(s, 3) for v, s in per_vendor.items()},
        "floor_s": round(max(per_vendor.values()), 3),
        "floor_priced_s": round(max(priced.values()), 3),
    }


def expected_requests(runs: int, tasks: int, *, bland_only: bool, priced: bool) -> dict[str, int]:
    expected = {v: sum(c) for v, c in chains(runs, tasks, bland_only=bland_only).items()}
    if priced:  # every Bland resource is a create (no seeded run is labelled), 10 bodies
        expected["bland"] += BLAND_RESOURCES
    return expected


@dataclass
class Timed:
    wall: float
    requests: dict[str, int]
    peak_rss_mib: float | None = None


def run_plan(emu: Emulator, root: Path, *flags: str, code: str | None, peak: bool) -> Timed:
    """Run `reconciler plan FLAGS` as a user does (its own process); time it, count requests."""
    env = {**os.environ, **ENV}
    if code:
        env["PYTHONPATH"] = code
    command = [sys.executable, "-m", "reconciler.cli", "-C", str(root), "plan", *flags]
    if peak:
        command = [sys.executable, "-c", PEAK, *command[1:]]
    begin = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd="/")
    wall = time.perf_counter() - begin
    if done.returncode not in (0, 2):
        raise SystemExit(f"plan failed ({done.returncode}):\n{done.stderr[-3000:]}")
    rss = None
    if peak:
        rss = int(done.stderr.rsplit("peak-rss-kib ", 1)[-1]) / 1024
    return Timed(wall, emu.counts(), rss)


def run_naive(emu: Emulator) -> Timed:
    """Run naive_list.py (its own process, the same pages); time the whole process."""
    command = [sys.executable, str(HERE / "naive_list.py"), "--base-url", emu.url, "--bland"]
    command += [f"--prompt={p}:{e}:{d}" for p, (e, d) in sorted(PROMPTS.items())]
    command += [f"--task={t}" for t in emu.tasks]
    command += ["--threads", str(CONCURRENCY)]
    begin = time.perf_counter()
    subprocess.run(command, env={**os.environ, **ENV}, capture_output=True, check=True)
    wall = time.perf_counter() - begin
    return Timed(wall, emu.counts())


def latency_case(runs: int, args: argparse.Namespace) -> dict[str, object]:
    sides: dict[str, list[Timed]] = {}
    loads: list[float] = []
    with (
        seeded_emulator(runs, args.tasks, args.latency_ms, bland_only=False) as emu,
        tempfile.TemporaryDirectory() as tmp,
    ):
        root = Path(tmp)
        write_project(root, emu.url, emu.tasks)
        for repeat in range(args.repeat + 1):  # round 0 warms caches up, untimed
            loads.append(load())
            ran = {
                "plan": run_plan(emu, root, code=None, peak=False),
                "plan_no_cost": run_plan(emu, root, "--no-cost", code=None, peak=False),
                "naive_list": run_naive(emu),
            }
            if args.before:
                ran["before_plan"] = run_plan(emu, root, code=args.before, peak=False)
                ran["before_plan_no_cost"] = run_plan(
                    emu, root, "--no-cost", code=args.before, peak=False
                )
            shown = "  ".join(f"{k} {t.wall:.2f}" for k, t in ran.items())
            print(f"{runs} runs/vendor, round {repeat}: {shown}  (load {loads[-1]})", flush=True)
            if repeat:
                for side, timed in ran.items():
                    sides.setdefault(side, []).append(timed)
    row: dict[str, object] = {
        "case": f"{runs} runs per vendor, {args.latency_ms:g} ms latency",
        "runs_per_vendor": runs,
        "tasks": args.tasks,
        "latency_ms": args.latency_ms,
        **floors(runs, args.tasks, args.latency_ms, bland_only=False),
    }
    seconds = {
        side: round(statistics.median(t.wall for t in runs_), 3) for side, runs_ in sides.items()
    }
    row["seconds"] = seconds
    row["runs"] = {side: [round(t.wall, 3) for t in timed] for side, timed in sides.items()}
    row["load_1m"] = loads[1:]
    ok_requests = True
    requests: dict[str, object] = {}
    for side, timed in sides.items():
        priced = side in ("plan", "before_plan")
        expected = expected_requests(runs, args.tasks, bland_only=False, priced=priced)
        made = [t.requests for t in timed]
        good = all(m == expected for m in made)
        ok_requests &= good or side.startswith("before")
        requests[side] = {"made": made[-1], "expected": expected, "equal_every_run": good}
    row["requests"] = requests
    naive = seconds["naive_list"]
    row["ratio_to_naive"] = {s: round(v / naive, 3) for s, v in seconds.items()}
    row["ratio_to_floor"] = {s: round(v / float(row["floor_s"]), 3) for s, v in seconds.items()}  # type: ignore[arg-type]
    ours = (seconds["plan"], seconds["plan_no_cost"])
    if runs <= 1000:
        row["target"] = "plan and plan --no-cost <= 1.3 x naive_list; requests as expected"
        fast = all(s <= 1.3 * naive for s in ours)
    else:
        row["target"] = "plan and plan --no-cost <= 1.15 x floor_s; requests as expected"
        fast = all(s <= 1.15 * float(row["floor_s"]) for s in ours)  # type: ignore[arg-type]
    row["met_time"] = fast
    row["met_requests"] = ok_requests
    row["met"] = fast and ok_requests
    return row


def memory_case(runs: int, args: argparse.Namespace, *, bland_only: bool) -> dict[str, object]:
    target = 110 if bland_only else 300
    row: dict[str, object] = {
        "case": f"memory: {runs} runs {'at Bland only' if bland_only else 'per vendor'}",
        "runs_per_vendor": runs,
        "bland_only": bland_only,
        "target": f"plan peak RSS <= {target} MiB; requests as expected",
    }
    with (
        seeded_emulator(runs, args.tasks, 0, bland_only=bland_only) as emu,
        tempfile.TemporaryDirectory() as tmp,
    ):
        root = Path(tmp)
        write_project(root, emu.url, emu.tasks)
        sides = {"plan": None, **({"before_plan": args.before} if args.before else {})}
        for side, code in sides.items():
            row.setdefault("load_1m", []).append(load())  # type: ignore[union-attr]
            timed = run_plan(emu, root, code=code, peak=True)
            expected = expected_requests(runs, args.tasks, bland_only=bland_only, priced=True)
            row[side] = {
                "seconds": round(timed.wall, 2),
                "peak_rss_mib": round(timed.peak_rss_mib or 0, 1),
                "requests": timed.requests,
                "expected_requests": expected,
            }
            print(f"{row['case']}: {side} {row[side]}", flush=True)
    after = row["plan"]
    assert isinstance(after, dict)
    row["met_requests"] = after["requests"] == after["expected_requests"]
    row["met"] = after["peak_rss_mib"] <= target and row["met_requests"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="live runs per vendor, each a case")
    parser.add_argument("--tasks", type=int, default=50, help="Arize tasks")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", help="another checkout to run beside this one")
    parser.add_argument(
        "--memory", action="store_true", help="the memory cases (100k Bland, 300k mixed)"
    )
    args = parser.parse_args()
    compile_trees(args.before)
    rows = []
    if args.memory:
        rows.append(memory_case(100_000, args, bland_only=True))
        print(json.dumps(rows[-1]), flush=True)
        rows.append(memory_case(100_000, args, bland_only=False))
        print(json.dumps(rows[-1]), flush=True)
    else:
        for size in (int(s) for s in args.sizes.split(",")):
            rows.append(latency_case(size, args))
            print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"bench": "plan_e2e", "met": all(r["met"] for r in rows), "rows": rows}))


if __name__ == "__main__":
    main()
