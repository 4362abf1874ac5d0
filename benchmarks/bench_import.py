"""`reconciler import` of 10,000 live Bland runs against the emulator: wall time and requests.

The runs are seeded straight into the emulator (no reconciler labels, as a team's old script
would leave them), in 10 groups of 1,000 that evaluate different calls, so the import writes 10
documents. Bland's list items omit the calls and agents (bland.md 3.2), so import reads every
candidate run in full: one GET per run, within the provider's pace. Two figures: the default
pace (Bland: the registry's requests_per_second) and no client pace at all.

    python benchmarks/bench_import.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from precompile import compile_trees

from reconciler import emulator
from reconciler.emulator.http import Request, Response
from reconciler.emulator.routing import Match

KEY = "bench-bland"
GROUPS = 10


def measure(runs: int, *, pace: str) -> dict[str, object]:
    server = emulator.make_server("127.0.0.1", 0, seed=1)
    for group in range(GROUPS):
        server.bland.seed_runs(KEY, runs // GROUPS, calls=group + 1, spacing_s=0.01)
    counts: Counter[str] = Counter()
    bland = server.apis["bland"]
    answer = bland.answer

    def counting(request: Request, match: Match) -> Response:
        kind = "list page" if request.path.endswith("/runs") else f"{request.method} run"
        counts[kind] += 1
        return answer(request, match)

    bland.answer = counting  # type: ignore[method-assign]
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        url = stack.enter_context(emulator.serve_in_thread(server, poll_interval=0.05))
        root = Path(tmp)
        (root / "reconciler.yaml").write_text(
            "workspace: bench\n"
            'manifests: ["evals/*.yaml"]\n'
            f'providers:\n  bland: {{api_key: "${{BLAND_API_KEY}}", base_url: "{url}"{pace}}}\n'
        )
        begin = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "reconciler.cli", "-C", tmp, "import", "--out", "evals/"],
            env={**os.environ, "BLAND_API_KEY": KEY},
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - begin
        requests = dict(counts)
        check = subprocess.run(
            [sys.executable, "-m", "reconciler.cli", "-C", tmp, "plan", "--detailed-exitcode"],
            env={**os.environ, "BLAND_API_KEY": KEY},
            capture_output=True,
            text=True,
            check=False,
        )
    return {
        "pace": pace.strip(", ") or "default",
        "runs": runs,
        "exit": done.returncode,
        "wall_s": round(wall, 2),
        "requests": requests,
        "output": done.stdout.strip().splitlines()[-1:] + done.stderr.strip().splitlines()[-2:],
        "plan_after_import_exit": check.returncode,
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    compile_trees()
    for pace in ("", ", requests_per_second: null"):
        print(json.dumps(measure(args.runs, pace=pace)), flush=True)


if __name__ == "__main__":
    main()
