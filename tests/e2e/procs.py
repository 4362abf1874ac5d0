"""Real processes for e2e tests: `reconciler emulator` and `reconciler apply` as users run them.

The emulator is one process (state in a SQLite file); applies are further processes pointed at
it. What the vendors hold is read back over HTTP, never through reconciler's providers, so a
misreading there cannot hide a duplicate.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from reconciler.emulator.arize import user_id_of

KEYS = {
    "BLAND_API_KEY": "bland-procs-key",
    "ADALINE_API_KEY": "adaline-procs-key",
    "ARIZE_API_KEY": "arize-procs-key",
}
WORKSPACE = "procs"
TASK = "T25saW5lVGFzazoxOnNlZWQ="
# Four Adaline natural keys (prompt, evaluator, dataset) from the emulator's catalogue.
ADALINE_KEYS = tuple(
    (f"prompt_{p}", f"evaluator_{e}", f"dataset_{d}")
    for p, e, d in (
        ("checkout_assistant_0001", "checkout_accuracy_0001", "checkout_questions_0001"),
        ("checkout_assistant_0001", "checkout_latency_0002", "checkout_edge_cases_0002"),
        ("refund_triage_0002", "refund_policy_match_0004", "refund_requests_0003"),
        ("checkout_assistant_0001", "checkout_accuracy_0001", "checkout_edge_cases_0002"),
    )
)
# Four Arize windows of task 1, one week each.
ARIZE_WINDOWS = tuple(
    (f"2026-11-{2 + 7 * i:02d}T00:00:00.000Z", f"2026-11-{9 + 7 * i:02d}T00:00:00.000Z")
    for i in range(4)
)
BLAND_NAMES = tuple(f"nightly-{i}" for i in range(1, 5))
VENDORS = ("bland", "adaline", "arize")
# Runs that still count as having the resource (active or finished, not stopped).
STOPPED = {"CANCELLED", "CANCELLING", "cancelled", "cancelling"}


def report(text: str) -> None:
    """Say what a process did, on stdout: pytest shows it with -s, or under a failure."""
    print(text)  # noqa: T201


def environ() -> dict[str, str]:
    """Return the environment for a reconciler process: this one's, plus the three keys."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("RECONCILER_")}
    return {**env, **KEYS, "PYTHONUNBUFFERED": "1"}


@dataclass
class Emulator:
    """`python -m reconciler.cli emulator --port 0 --state FILE ...` as a process."""

    process: subprocess.Popen[str]
    url: str

    @classmethod
    def start(cls, state: Path, *flags: str) -> Emulator:
        command = [sys.executable, "-m", "reconciler.cli", "emulator", "--port", "0"]
        process = subprocess.Popen(
            [*command, "--state", str(state), *flags],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=environ(),
        )
        assert process.stderr is not None
        first = process.stderr.readline()
        found = re.search(r"http://[\d.]+:\d+", first)
        if not found:
            process.kill()
            process.wait(timeout=10)
            raise AssertionError(f"the emulator printed no URL: {first!r}")
        return cls(process=process, url=found.group(0))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()


@dataclass
class Project:
    """A reconciler project on disk: reconciler.yaml and one manifest per vendor."""

    root: Path
    url: str
    max_concurrency: int | None = None

    def write(self) -> None:
        limit = f", max_concurrency: {self.max_concurrency}" if self.max_concurrency else ""
        (self.root / "reconciler.yaml").write_text(
            textwrap.dedent(
                f"""\
                workspace: {WORKSPACE}
                manifests: ["evals/*.yaml"]
                providers:
                  bland: {{api_key: "${{BLAND_API_KEY}}", base_url: "{self.url}"{limit}}}
                  adaline: {{api_key: "${{ADALINE_API_KEY}}", base_url: "{self.url}/v2"{limit}}}
                  arize:
                    api_key: "${{ARIZE_API_KEY}}"
                    base_url: "{self.url}"
                    owner_user_id: {user_id_of(KEYS["ARIZE_API_KEY"])}
                """
            )
            + (f"    max_concurrency: {self.max_concurrency}\n" if self.max_concurrency else "")
        )
        evals = self.root / "evals"
        evals.mkdir(exist_ok=True)
        bland = []
        for number, name in enumerate(BLAND_NAMES, start=1):
            bland.append(
                f"apiVersion: reconciler/v1\nkind: BlandEvalRun\nmetadata: {{name: {name}}}\n"
                f"spec:\n  call_ids: [a1b2c3d4-0000-4000-8000-{number:012d}]\n"
                "  attached_agents: [{eval_agent_id: 11111111-aaaa-4bbb-8ccc-000000000001}]\n"
            )
        adaline = [
            f"apiVersion: reconciler/v1\nkind: AdalineEvaluation\nmetadata: {{name: eval-{i}}}\n"
            f"spec: {{promptId: {p}, evaluatorId: {e}, datasetId: {d}}}\n"
            for i, (p, e, d) in enumerate(ADALINE_KEYS, start=1)
        ]
        arize = [
            f"apiVersion: reconciler/v1\nkind: ArizeTaskRun\nmetadata: {{name: week-{i}}}\n"
            f'spec:\n  task_id: "{TASK}"\n  data_start_time: "{start}"\n'
            f'  data_end_time: "{end}"\n'
            for i, (start, end) in enumerate(ARIZE_WINDOWS, start=1)
        ]
        for vendor, docs in (("bland", bland), ("adaline", adaline), ("arize", arize)):
            (evals / f"{vendor}.yaml").write_text("---\n".join(docs))

    @property
    def resources(self) -> int:
        return len(BLAND_NAMES) + len(ADALINE_KEYS) + len(ARIZE_WINDOWS)


@dataclass
class Apply:
    """One `reconciler apply --auto-approve` process; its output goes to files."""

    process: subprocess.Popen[bytes]
    out: Path
    err: Path
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def start(cls, project: Project, name: str, *args: str) -> Apply:
        out = project.root.parent / f"{project.root.name}-{name}.out"
        err = project.root.parent / f"{project.root.name}-{name}.err"
        command = [sys.executable, "-m", "reconciler.cli", "-C", str(project.root)]
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                [*command, *(args or ("apply", "--auto-approve"))],
                stdout=stdout,
                stderr=stderr,
                env=environ(),
            )
        return cls(process=process, out=out, err=err)

    def wait(self, timeout: float = 30) -> int:
        return self.process.wait(timeout=timeout)

    def kill(self, signum: int = signal.SIGKILL) -> None:
        self.process.send_signal(signum)

    @property
    def stdout(self) -> str:
        return self.out.read_text()

    @property
    def stderr(self) -> str:
        return self.err.read_text()

    def done(self) -> Counter[str]:
        """Count the actions this apply has logged as finished, per vendor."""
        return Counter(re.findall(r"^apply .* vendor=(\w+) .*outcome=ok", self.stderr, re.M))

    def summary(self) -> str:
        found = re.search(r"^(Apply (complete|interrupted):.*|Nothing to do\.)$", self.stdout, re.M)
        return found.group(0) if found else f"(no summary; exit {self.process.returncode})"


def run_apply(project: Project, name: str, *args: str, timeout: float = 30) -> Apply:
    """Run an apply to its end."""
    apply = Apply.start(project, name, *args)
    apply.wait(timeout)
    return apply


# --- what the vendors hold, read over HTTP ------------------------------------------------


def _auth(key: str) -> dict[str, str]:
    return {"authorization": KEYS[key]}


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {KEYS[key]}"}


def bland_runs(url: str) -> list[dict]:
    """Every Bland run of our key (reduced list items, newest first)."""
    runs: list[dict] = []
    params: dict[str, str | int] = {"limit": 100}
    while True:
        page = httpx.get(
            f"{url}/v1/evals/runs", params=params, headers=_auth("BLAND_API_KEY"), timeout=10
        )
        page.raise_for_status()
        body = page.json()["data"]
        runs += body["data"]
        if not body["has_more"]:
            return runs
        params["starting_after"] = body["next_cursor"]


def adaline_runs(url: str) -> list[dict]:
    """Every Adaline evaluation of the prompts the project uses."""
    runs: list[dict] = []
    for prompt in sorted({p for p, _, _ in ADALINE_KEYS}):
        page = httpx.get(
            f"{url}/v2/prompts/{prompt}/evaluations",
            params={"limit": 200},
            headers=_bearer("ADALINE_API_KEY"),
            timeout=10,
        )
        page.raise_for_status()
        runs += [{**r, "promptId": r.get("promptId", prompt)} for r in page.json()["evaluations"]]
    return runs


def arize_runs(url: str) -> list[dict]:
    """Every Arize run of task 1."""
    page = httpx.get(
        f"{url}/v2/tasks/{TASK}/runs",
        params={"limit": 100},
        headers=_bearer("ARIZE_API_KEY"),
        timeout=10,
    )
    page.raise_for_status()
    return page.json()["task_runs"]


@dataclass(frozen=True)
class Holdings:
    """Runs per declared resource at each vendor: all of them, and those not stopped."""

    every: dict[str, Counter[str]]
    live: dict[str, Counter[str]]

    def total(self, vendor: str) -> int:
        return sum(self.every[vendor].values())

    def duplicates(self, vendor: str) -> int:
        """Runs beyond the first per resource, whatever their status."""
        return sum(n - 1 for n in self.every[vendor].values() if n > 1)

    def describe(self) -> str:
        return ", ".join(f"{v}: {self.total(v)} runs ({self.duplicates(v)} extra)" for v in VENDORS)


def holdings(url: str) -> Holdings:
    """Count the runs of each declared resource, as the vendors list them."""
    every: dict[str, Counter[str]] = {v: Counter() for v in VENDORS}
    live: dict[str, Counter[str]] = {v: Counter() for v in VENDORS}
    for run in bland_runs(url):
        address = (run.get("metadata") or {}).get("reconciler.address")
        if address is None:
            continue
        every["bland"][address] += 1
        live["bland"][address] += run["status"] not in STOPPED
    for run in adaline_runs(url):
        key = f"{run['promptId']}/{run['evaluatorId']}/{run['datasetId']}"
        every["adaline"][key] += 1
        live["adaline"][key] += run["status"] not in STOPPED
    for run in arize_runs(url):
        key = f"{run['data_start_time']}/{run['data_end_time']}"
        every["arize"][key] += 1
        live["arize"][key] += run["status"] not in STOPPED
    return Holdings(every=every, live=live)


def declared() -> dict[str, set[str]]:
    """The keys `holdings` reports for the declared resources, per vendor."""
    return {
        "bland": {f"BlandEvalRun/{name}" for name in BLAND_NAMES},
        "adaline": {"/".join(key) for key in ADALINE_KEYS},
        "arize": {f"{start}/{end}" for start, end in ARIZE_WINDOWS},
    }


def assert_exactly_one_each(held: Holdings) -> None:
    """Exactly one run per declared resource at every vendor, none stopped, no others."""
    want = declared()
    for vendor in VENDORS:
        assert want[vendor] == set(held.every[vendor]), (vendor, held.every[vendor])
        assert {k: 1 for k in want[vendor]} == dict(held.every[vendor]), (vendor, held.describe())
        assert {k: 1 for k in want[vendor]} == dict(held.live[vendor]), (vendor, held.live)


@contextmanager
def running_emulator(tmp_path: Path, *flags: str) -> Iterator[Emulator]:
    """Start the emulator process (state in tmp_path, runs aging slowly) and stop it after."""
    emulator = Emulator.start(tmp_path / "emulator.sqlite3", "--time-scale", "0.1", *flags)
    try:
        yield emulator
    finally:
        emulator.stop()


def new_project(tmp_path: Path, url: str, name: str = "project", **options: int) -> Project:
    """Write a project of four resources per vendor into tmp_path/name."""
    project = Project(root=tmp_path / name, url=url, **options)
    project.root.mkdir()
    project.write()
    return project


def wait_until(condition: Callable[[], bool], apply: Apply, timeout: float = 20) -> None:
    """Poll `condition` every 5 ms while `apply` runs; fail if it ends or time runs out first."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert apply.process.poll() is None, f"apply ended first:\n{apply.stdout}\n{apply.stderr}"
        assert time.monotonic() < deadline, "timed out waiting for the apply"
        time.sleep(0.005)
