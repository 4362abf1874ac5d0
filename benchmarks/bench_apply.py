"""`reconciler apply --auto-approve` of many Bland creates against the emulator: three figures.

(a) Rate limit: 1,000 creates, the emulator allowing 100 requests/s per key and reconciler.yaml
    saying `requests_per_second: 100` (and a high max_concurrency). The floor is 10 s; target:
    apply phase <= 1.15 x 10 s, with no 429. The apply phase is read from the CLI's log: each
    `apply ... duration_ms=D` line is stamped when it arrives, so an action started at
    arrival - D; the phase runs from the first start to the last line. Also shown: the total
    wall time minus that of a separate `plan` of the same project.
(b) Latency: 1,000 creates, 50 ms per answer and no limit, reconciler with max_concurrency 8
    against naive_apply.py (a sequential httpx loop, run in its own process); fresh emulator
    each. Target: reconciler's whole CLI run (start-up and plan included) >= 6x faster than the
    naive loop (whose time excludes its start-up).
(c) Memory: an apply of 10,000 creates, no latency and no limit: peak RSS of the CLI process
    (its own rusage from wait4 once it exits; ru_maxrss KiB on Linux), and its wall time.

The emulator runs in this process, in a thread, and counts what it answers. The last line
printed is one JSON object with the figures.

    python benchmarks/bench_apply.py [--quick]    # --quick: 100 / 100 / 1,000 creates
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from reconciler import emulator
from reconciler.emulator.http import Request, Response
from reconciler.emulator.routing import Match

KEY = "bench-bland"
AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
CALLS = 5000  # the emulator catalogue's call ids
APPLY_LINE = re.compile(r"^apply address=.* duration_ms=(\d+)")
NAIVE = Path(__file__).resolve().parent / "naive_apply.py"


@dataclass
class Emulator:
    """An emulator serving in a thread, with counters the server itself does not keep."""

    server: emulator.EmulatorServer
    serving: ExitStack
    url: str = ""
    counts: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.server.requests.clear()
        self.counts.clear()

    def stop(self) -> None:
        self.serving.close()


def start_emulator(faults: emulator.Faults) -> Emulator:
    """Start an emulator; count 429s of its rate limit and the Bland requests it handles."""
    server = emulator.make_server("127.0.0.1", 0, seed=1, faults=faults)
    emu = Emulator(server, ExitStack())
    bland = server.apis["bland"]
    wait_for, answer = server.wait_for, bland.answer

    def counting_wait_for(key: str) -> float:
        wait = wait_for(key)
        if wait:
            emu.counts["429"] += 1
        return wait

    def counting_answer(request: Request, match: Match) -> Response:
        creates = match.route is not None and match.route.creates
        kind = "create" if creates else f"{request.method} other"
        if request.method == "GET" and request.path.endswith("/runs"):
            kind = "list page"
        emu.counts[kind] += 1
        return answer(request, match)

    server.wait_for = counting_wait_for  # type: ignore[method-assign]
    bland.answer = counting_answer  # type: ignore[method-assign]
    emu.url = emu.serving.enter_context(emulator.serve_in_thread(server, poll_interval=0.05))
    return emu


def write_project(
    root: Path, url: str, n: int, *, concurrency: int, rps: float | None = None
) -> None:
    """Write reconciler.yaml and one manifest file of `n` BlandEvalRun documents."""
    # No rps: no client pace at all (the default paces Bland at 50/s), to measure the engine.
    limit = f", requests_per_second: {rps}" if rps else ", requests_per_second: null"
    (root / "reconciler.yaml").write_text(
        "workspace: bench\n"
        'manifests: ["evals/*.yaml"]\n'
        "providers:\n"
        f'  bland: {{api_key: "${{BLAND_API_KEY}}", base_url: "{url}", '
        f"max_concurrency: {concurrency}{limit}}}\n"
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
    """One CLI process: wall time, exit code, output, apply phase and peak RSS."""

    wall: float
    code: int
    stdout: str
    stderr: list[str]
    apply_s: float | None  # from the log: first action's start to the last action's line
    max_rss_kib: int


def run_cli(root: Path, *args: str) -> CliRun:
    """Run `python -m reconciler.cli -C root ARGS`, stamping each log line as it arrives."""
    env = {**os.environ, "BLAND_API_KEY": KEY}
    with tempfile.TemporaryFile("w+") as out:
        begin = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", "-C", str(root), *args],
            env=env,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        starts: list[float] = []
        ends: list[float] = []

        def read() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                now = time.perf_counter()
                lines.append(line.rstrip("\n"))
                if match := APPLY_LINE.match(line):
                    starts.append(now - int(match.group(1)) / 1000)
                    ends.append(now)

        reader = threading.Thread(target=read)
        reader.start()
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not all children's
        wall = time.perf_counter() - begin
        proc.returncode = os.waitstatus_to_exitcode(status)
        reader.join()
        out.seek(0)
        stdout = out.read()
    apply_s = max(ends) - min(starts) if starts else None
    return CliRun(wall, proc.returncode, stdout, lines, apply_s, usage.ru_maxrss)


def checked(result: CliRun, what: str) -> CliRun:
    """Exit with the CLI's output when it failed."""
    if result.code != 0:
        tail = "\n".join(result.stderr[-20:])
        sys.exit(f"{what} failed ({result.code}):\n{result.stdout[-2000:]}\n{tail}")
    return result


def rate_limited(n: int, rps: float) -> dict[str, object]:
    """(a) n creates with the emulator and reconciler both at `rps` requests/s."""
    emu = start_emulator(emulator.Faults(requests_per_second_per_key=rps))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_project(root, emu.url, n, concurrency=64, rps=rps)
            plan = checked(run_cli(root, "plan"), "plan")
            plan_requests = emu.server.requests["BlandApi"]
            time.sleep(1.5)  # let the emulator's bucket refill after the plan's request
            emu.reset()
            result = checked(run_cli(root, "apply", "--auto-approve"), "apply")
    finally:
        emu.stop()
    floor = n / rps
    apply_s = result.apply_s or result.wall
    requests = emu.server.requests["BlandApi"]
    row = {
        "case": "rate_limited",
        "creates": n,
        "rps": rps,
        "apply_s": round(apply_s, 3),
        "total_s": round(result.wall, 3),
        "plan_s": round(plan.wall, 3),
        "total_minus_plan_s": round(result.wall - plan.wall, 3),
        "floor_s": floor,
        "ratio_to_floor": round(apply_s / floor, 3),
        "target_ratio": 1.15,
        "met": apply_s <= 1.15 * floor,
        "requests": requests,
        "requests_by_kind": dict(sorted(emu.counts.items())),
        "plan_requests": plan_requests,
        "http_429": emu.counts["429"],
    }
    print(
        f"(a) {n} creates at {rps:g} req/s: apply phase {apply_s:.2f} s "
        f"= {apply_s / floor:.3f} x the {floor:g} s floor (target <= 1.15); "
        f"total {result.wall:.2f} s, plan alone {plan.wall:.2f} s; {requests} requests "
        f"({dict(sorted(emu.counts.items()))}), {emu.counts['429']} x 429"
    )
    return row


def latency(n: int, latency_ms: float, concurrency: int) -> dict[str, object]:
    """(b) n creates at `latency_ms` per answer: reconciler apply against the naive loop."""
    emu = start_emulator(emulator.Faults(latency_ms=latency_ms))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_project(root, emu.url, n, concurrency=concurrency)
            result = checked(run_cli(root, "apply", "--auto-approve"), "apply")
            requests = emu.server.requests["BlandApi"]
            kinds = dict(sorted(emu.counts.items()))
    finally:
        emu.stop()
    emu = start_emulator(emulator.Faults(latency_ms=latency_ms))
    try:
        naive = subprocess.run(
            [sys.executable, str(NAIVE), "--base-url", emu.url, "--key", KEY, "--n", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        naive_s = float(json.loads(naive.stdout.splitlines()[-1])["seconds"])
    finally:
        emu.stop()
    apply_s = result.apply_s or result.wall
    ratio = naive_s / result.wall
    row = {
        "case": "latency",
        "creates": n,
        "latency_ms": latency_ms,
        "max_concurrency": concurrency,
        "reconciler_total_s": round(result.wall, 3),
        "reconciler_apply_s": round(apply_s, 3),
        "reconciler_requests": requests,
        "requests_by_kind": kinds,
        "naive_s": round(naive_s, 3),
        "speedup_total": round(ratio, 2),
        "speedup_apply_phase": round(naive_s / apply_s, 2),
        "target_speedup": 6,
        "met": ratio >= 6,
    }
    print(
        f"(b) {n} creates at {latency_ms:g} ms: reconciler {result.wall:.2f} s "
        f"(apply phase {apply_s:.2f} s, {requests} requests {kinds}), naive loop {naive_s:.2f} s: "
        f"{ratio:.1f}x faster ({naive_s / apply_s:.1f}x on the apply phase; target >= 6x)"
    )
    return row


def memory(n: int) -> dict[str, object]:
    """(c) Peak RSS and wall time of an apply of n creates, no latency, no limit."""
    emu = start_emulator(emulator.Faults())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_project(root, emu.url, n, concurrency=8)
            result = checked(run_cli(root, "apply", "--auto-approve"), "apply")
            requests = emu.server.requests["BlandApi"]
    finally:
        emu.stop()
    mb = result.max_rss_kib / 1024
    apply_s = result.apply_s or result.wall
    print(
        f"(c) {n} creates: peak RSS {mb:.1f} MB, {result.wall:.2f} s "
        f"(apply phase {apply_s:.2f} s, {requests} requests {dict(sorted(emu.counts.items()))})"
    )
    return {
        "case": "memory",
        "creates": n,
        "max_rss_mb": round(mb, 1),
        "total_s": round(result.wall, 3),
        "apply_s": round(apply_s, 3),
        "requests": requests,
        "requests_by_kind": dict(sorted(emu.counts.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 / 100 / 1,000 creates")
    parser.add_argument("--rps", type=float, default=100.0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=8, help="of (b)")
    parser.add_argument("--only", choices="abc", help="run one measurement")
    args = parser.parse_args()
    sizes = (100, 100, 1_000) if args.quick else (1_000, 1_000, 10_000)

    cases = {
        "a": lambda: rate_limited(sizes[0], args.rps),
        "b": lambda: latency(sizes[1], args.latency_ms, args.concurrency),
        "c": lambda: memory(sizes[2]),
    }
    rows = [case() for name, case in cases.items() if args.only in (None, name)]
    print(json.dumps({"bench": "apply", "quick": args.quick, "rows": rows}))


if __name__ == "__main__":
    main()
