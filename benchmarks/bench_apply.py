"""`reconciler apply --auto-approve` of many Bland creates, the whole command, beside baselines.

Every figure is the wall time of a whole CLI process (start-up, listing, estimates where the
command makes them, the creates, exit), with the emulator in its own process (`reconciler
emulator`), a fresh one per run so every apply starts from nothing. Side-by-side pairs run
in one loop, interleaved, so the load of this shared machine hits both sides alike; each
figure is the median of `--repeat` runs, and `uptime`'s load average is printed beside it.

(a) Rate limit: 1,000 creates, the emulator allowing 100 requests/s per key and
    reconciler.yaml saying `requests_per_second: 100`. Floor: 10 s (1,000 requests at 100/s).
    Baseline: naive_apply.py with 8 threads paced to 100/s. Target: <= 1.10 x the floor.
(b) Latency: 1,000 creates, 50 ms per answer, reconciler.yaml with the shipped defaults.
    Baselines: naive_apply.py with 8 threads (target <= 1.25 x it) and the sequential loop.
(c) Memory: 10,000 creates, no latency, shipped defaults: peak RSS of the CLI process (its
    own rusage from wait4; ru_maxrss KiB on Linux). Target <= 200 MiB.

`--before DIR` also runs the CLI from another checkout (PYTHONPATH=DIR), the same
emulator and baselines, in the same loop: the before/after figures of docs/performance.md.
Requests are counted from the CLI's `--debug` log (one line per attempt). The last line
printed is one JSON object.

    python benchmarks/bench_apply.py [--before DIR] [--repeat 3] [--only a|b|c] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from precompile import compile_trees

KEY = "bench-bland"
AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
CALLS = 5000  # the emulator catalogue's call ids
HERE = Path(__file__).resolve().parent
NAIVE = HERE / "naive_apply.py"
HTTP_LINE = re.compile(r"^http method=(\S+) url=(\S+) status=(\d+)")


def load() -> str:
    """Return the 1-minute load average, as `uptime` shows it."""
    return f"{os.getloadavg()[0]:.2f}"


@contextmanager
def emulator_process(*args: str) -> Iterator[str]:
    """Serve `reconciler emulator ARGS` in its own process; yield its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler.cli", "emulator", "--port", "0", "--seed", "1", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=HERE.parent,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"on (http://\S+)", line)
        if match is None:
            raise SystemExit(f"the emulator did not start: {line}")
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait()


def write_project(root: Path, url: str, n: int, *, rps: float | None = None) -> None:
    """Write reconciler.yaml (shipped defaults unless `rps`) and `n` BlandEvalRun documents."""
    limit = f", requests_per_second: {rps}" if rps else ""
    (root / "reconciler.yaml").write_text(
        "workspace: bench\n"
        'manifests: ["evals/*.yaml"]\n'
        "providers:\n"
        f'  bland: {{api_key: "${{BLAND_API_KEY}}", base_url: "{url}"{limit}}}\n'
    )
    docs = [
        f"apiVersion: reconciler/v1\nkind: BlandEvalRun\nmetadata: {{name: run-{i:05d}}}\n"
        f"spec:\n  call_ids: [a1b2c3d4-0000-4000-8000-{i % CALLS + 1:012d}]\n"
        f"  attached_agents: [{{eval_agent_id: {AGENT}}}]\n"
        for i in range(n)
    ]
    (root / "evals").mkdir(exist_ok=True)
    (root / "evals" / "runs.yaml").write_text("---\n".join(docs))


@dataclass
class CliRun:
    wall: float
    max_rss_mib: float
    requests: dict[str, int]


def run_cli(root: Path, *args: str, code_dir: str | None) -> CliRun:
    """Run the CLI (from `code_dir` when given) with --debug; time it, count its requests."""
    env = {**os.environ, "BLAND_API_KEY": KEY}
    if code_dir:
        env["PYTHONPATH"] = code_dir
    with tempfile.TemporaryFile("w+") as err, tempfile.TemporaryFile("w+") as out:
        begin = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", "-C", str(root), "--debug", *args],
            env=env,
            stdout=out,
            stderr=err,
            cwd="/",
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - begin
        err.seek(0)
        log = err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args} failed:\n{log[-3000:]}")
    kinds: Counter[str] = Counter()
    for line in log.splitlines():
        if match := HTTP_LINE.match(line):
            method, url, code = match.groups()
            what = "estimate" if url.endswith("/estimates") else "list" if method == "GET" else ""
            what = what or ("create" if url.endswith("/runs") else f"{method} other")
            kinds[what if code != "429" else "429"] += 1
    return CliRun(wall, usage.ru_maxrss / 1024, dict(sorted(kinds.items())))


def naive(url: str, n: int, *, threads: int, rps: float | None = None) -> float:
    """Run naive_apply.py in its own process; return its seconds."""
    args = [sys.executable, str(NAIVE), "--base-url", url, "--key", KEY, "--n", str(n)]
    args += ["--threads", str(threads)] + (["--rps", str(rps)] if rps else [])
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout.splitlines()[-1])["seconds"])


def reconciler(emulator_args: list[str], n: int, *, rps: float | None, code: str | None) -> CliRun:
    with emulator_process(*emulator_args) as url, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_project(root, url, n, rps=rps)
        return run_cli(root, "apply", "--auto-approve", code_dir=code)


def baseline(emulator_args: list[str], n: int, *, threads: int, rps: float | None) -> float:
    with emulator_process(*emulator_args) as url:
        return naive(url, n, threads=threads, rps=rps)


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def side_by_side(
    case: str,
    emulator_args: list[str],
    n: int,
    *,
    rps: float | None,
    before: str | None,
    repeat: int,
    baselines: dict[str, tuple[int, float | None]],
) -> dict[str, object]:
    """Run after (this checkout), before and the baselines interleaved, `repeat` times."""
    sides: dict[str, list[float]] = {}
    requests: dict[str, dict[str, int]] = {}
    rss: dict[str, float] = {}
    loads: list[str] = []
    for _ in range(repeat):
        loads.append(load())
        for side, code in (("after", None), ("before", before)):
            if side == "before" and not before:
                continue
            result = reconciler(emulator_args, n, rps=rps, code=code)
            sides.setdefault(side, []).append(result.wall)
            requests[side] = result.requests
            rss[side] = max(rss.get(side, 0.0), round(result.max_rss_mib, 1))
        for name, (threads, pace) in baselines.items():
            sides.setdefault(name, []).append(baseline(emulator_args, n, threads=threads, rps=pace))
    row: dict[str, object] = {"case": case, "creates": n, "emulator": emulator_args}
    row["seconds"] = {side: median(walls) for side, walls in sides.items()}
    row["runs"] = {side: [round(w, 2) for w in walls] for side, walls in sides.items()}
    row["requests"] = requests
    row["max_rss_mib"] = rss
    row["load_1m"] = loads
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="another checkout to run beside this one")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices="abc", help="run one measurement")
    parser.add_argument("--quick", action="store_true", help="100 / 100 / 1,000 creates")
    parser.add_argument("--sequential", action="store_true", help="(b): also the 1-thread loop")
    args = parser.parse_args()
    compile_trees(args.before)
    sizes = (100, 100, 1_000) if args.quick else (1_000, 1_000, 10_000)
    rows = []
    if args.only in (None, "a"):
        n = sizes[0]
        row = side_by_side(
            "a: rate limit 100/s",
            ["--requests-per-second", "100"],
            n,
            rps=100,
            before=args.before,
            repeat=args.repeat,
            baselines={"naive_8_threads_100rps": (8, 100)},
        )
        floor = n / 100
        secs = row["seconds"]
        assert isinstance(secs, dict)
        row["floor_s"] = floor
        row["ratio_to_floor"] = {k: round(v / floor, 3) for k, v in secs.items()}
        row["target"] = "after <= 1.10 x floor"
        row["met"] = secs["after"] <= 1.10 * floor
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.only in (None, "b"):
        n = sizes[1]
        baselines = {"naive_8_threads": (8, None)}
        if args.sequential:
            baselines["naive_sequential"] = (1, None)
        row = side_by_side(
            "b: 50 ms latency, shipped defaults",
            ["--latency-ms", "50"],
            n,
            rps=None,
            before=args.before,
            repeat=args.repeat,
            baselines=baselines,
        )
        secs = row["seconds"]
        assert isinstance(secs, dict)
        base = secs["naive_8_threads"]
        row["ratio_to_naive_8_threads"] = {k: round(v / base, 3) for k, v in secs.items()}
        row["target"] = "after <= 1.25 x naive_8_threads"
        row["met"] = secs["after"] <= 1.25 * base
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.only in (None, "c"):
        row = side_by_side(
            "c: memory",
            [],
            sizes[2],
            rps=None,
            before=args.before,
            repeat=1,
            baselines={},
        )
        rss = row["max_rss_mib"]
        assert isinstance(rss, dict)
        row["target"] = "after peak RSS <= 200 MiB"
        row["met"] = rss["after"] <= 200
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"bench": "apply", "quick": args.quick, "rows": rows}))


if __name__ == "__main__":
    main()
