"""A seeded world at the three vendors, a project that reconciles it, and the checks on it.

Used by tests/e2e/test_faults.py and benchmarks/reliability.py. A `World` owns one emulator
(built with `emulator.make_server`, so the test can switch its faults off while it seeds and
inspects the vendors, and read `server.requests`), a project directory with 3 resources per
vendor, and runs the real CLI in-process (click's CliRunner, `--debug apply --auto-approve`).

Before any apply the world holds runs reconciler must leave alone (unmanaged, foreign,
finished) and two orphans it must cancel (active runs of this workspace or owner that no
resource declares). After the applies, `verdict()` lists every run over plain HTTP, not
through reconciler, and says what a user would see.

Time: the emulator's clock is the wall clock plus `Clock.offset`, and runs age at
`TIME_SCALE` (0.01): a run made during the applies stays active for minutes, so "exactly one
satisfying run" is never blurred by a run that finished or failed on its own; the runs meant
to be finished are made with the clock set a million seconds back. The clock follows real
time because reconciler's lost-create look-ups (Adaline's `createdAfter`, Bland's and
Arize's recovery windows) are reckoned from the machine's clock, as against a real vendor.
"""

from __future__ import annotations

import re
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
from click.testing import CliRunner, Result

from reconciler import emulator
from reconciler.cli import cli
from reconciler.emulator.arize import user_id_of

# Canaries: if any of these shows in any output, a key leaked.
KEYS = {
    "BLAND_API_KEY": "sk-canary-bland-5f0c1e9a7d3b4e21",
    "ADALINE_API_KEY": "sk-canary-adaline-8a2d6c4b1f9e3a70",
    "ARIZE_API_KEY": "sk-canary-arize-c3e7a1f05b9d2648",
}
BLAND_KEY, ADALINE_KEY, ARIZE_KEY = KEYS.values()
OTHER_ARIZE_KEY = "someone-else-arize-key"
OWNER = user_id_of(ARIZE_KEY)
WORKSPACE = "faults"

FAULTS = emulator.Faults(rate_429=0.10, rate_5xx=0.10, drop_rate=0.05, lost_create_rate=0.05)
TIME_SCALE = 0.01
LONG_AGO_S = 1_000_000.0  # with TIME_SCALE, 10,000 emulated seconds: every run has finished

AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
CHECKOUT = "prompt_checkout_assistant_0001"
REFUND = "prompt_refund_triage_0002"
ACCURACY, LATENCY = "evaluator_checkout_accuracy_0001", "evaluator_checkout_latency_0002"
POLICY = "evaluator_refund_policy_match_0004"
QUESTIONS, EDGE_CASES = "dataset_checkout_questions_0001", "dataset_checkout_edge_cases_0002"
REFUNDS = "dataset_refund_requests_0003"
TASK_1, TASK_2 = "T25saW5lVGFzazoxOnNlZWQ=", "T25saW5lVGFzazoyOnNlZWQ="
Key = tuple[str, str, str]

ACTIVE = frozenset({"pending", "queued", "running"})
GOOD = frozenset({"complete", "completed", "partial"})
CANCELLED = frozenset({"cancelled", "canceled", "cancelling", "canceling"})


def call_id(n: int) -> str:
    """Return the id of the emulator's seeded call `n`."""
    return f"a1b2c3d4-0000-4000-8000-{n:012d}"


EMPTY = "dataset_empty_placeholder_0004"
# Adaline keys a project may declare: the seeded runs use (CHECKOUT, ACCURACY, EDGE_CASES) and
# (CHECKOUT, LATENCY, QUESTIONS), so those are left out.
ADALINE_KEYS = (
    (CHECKOUT, ACCURACY, QUESTIONS),
    (CHECKOUT, LATENCY, EDGE_CASES),
    (REFUND, POLICY, REFUNDS),
    (CHECKOUT, ACCURACY, REFUNDS),
    (CHECKOUT, LATENCY, REFUNDS),
    (REFUND, POLICY, QUESTIONS),
    (REFUND, POLICY, EDGE_CASES),
    (CHECKOUT, ACCURACY, EMPTY),
    (CHECKOUT, LATENCY, EMPTY),
    (REFUND, POLICY, EMPTY),
)
WEEK_0 = date(2026, 11, 2)


def resources(per_vendor: int) -> tuple[dict[str, str], dict[str, Key], dict[str, Key]]:
    """Return the declared resources, name -> identity: Bland (address), Adaline, Arize keys."""
    assert 1 <= per_vendor <= len(ADALINE_KEYS)
    bland = {f"calls-{n}": f"BlandEvalRun/calls-{n}" for n in range(1, per_vendor + 1)}
    adaline = {f"eval-{n}": key for n, key in enumerate(ADALINE_KEYS[:per_vendor], start=1)}
    arize: dict[str, Key] = {}
    for n in range(per_vendor):
        start = WEEK_0 + timedelta(days=7 * (n // 2))
        task = (TASK_1, TASK_2)[n % 2]
        end = start + timedelta(days=7)
        arize[f"window-{n + 1}"] = (task, start.isoformat(), end.isoformat())
    return bland, adaline, arize


def instant(value: str) -> datetime:
    """Read an RFC 3339 instant or a bare date (midnight UTC)."""
    if len(value) == 10:
        value += "T00:00:00Z"
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def manifests(per_vendor: int) -> dict[str, str]:
    """Return the manifest files of the project: one per vendor, `per_vendor` resources each."""
    bland_names, adaline_keys, arize_keys = resources(per_vendor)
    bland = [
        f"""\
        apiVersion: reconciler/v1
        kind: BlandEvalRun
        metadata: {{name: {name}}}
        spec:
          call_ids: [{call_id(n)}]
          attached_agents: [{{eval_agent_id: {AGENT}}}]
        """
        for n, name in enumerate(bland_names, start=1)
    ]
    adaline = [
        f"""\
        apiVersion: reconciler/v1
        kind: AdalineEvaluation
        metadata: {{name: {name}}}
        spec: {{promptId: {prompt}, evaluatorId: {evaluator}, datasetId: {dataset}}}
        """
        for name, (prompt, evaluator, dataset) in adaline_keys.items()
    ]
    arize = [
        f"""\
        apiVersion: reconciler/v1
        kind: ArizeTaskRun
        metadata: {{name: {name}}}
        spec:
          task_id: "{task}"
          data_start_time: "{start}T00:00:00Z"
          data_end_time: "{end}T00:00:00Z"
        """
        for name, (task, start, end) in arize_keys.items()
    ]
    return {
        name: "---\n".join(textwrap.dedent(doc) for doc in docs)
        for name, docs in (("bland", bland), ("adaline", adaline), ("arize", arize))
    }


class Clock:
    """The emulator's clock: the wall clock, shifted by `offset` seconds."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass(frozen=True, slots=True)
class Run:
    """One run as the vendor lists it, reduced to what the checks need."""

    vendor: str
    run_id: str
    status: str  # lower case
    identity: tuple[str, ...]  # Bland: (workspace, address); Adaline: key; Arize: key
    creator: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def satisfies(self) -> bool:
        return self.status in ACTIVE or self.status in GOOD

    @property
    def cancelled(self) -> bool:
        return self.status in CANCELLED


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """What the vendors hold after an apply, checked against the promise."""

    satisfying: dict[str, int]  # declared resource -> satisfying runs
    extra_creates: int  # runs of declared identities beyond one each, whatever their status
    orphans_left: tuple[str, ...]  # runs that should have been cancelled and are not
    wrong_cancels: tuple[str, ...]  # protected runs that were cancelled, or asked to be

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(sorted(r for r, n in self.satisfying.items() if n == 0))

    @property
    def duplicates(self) -> int:
        return sum(max(0, n - 1) for n in self.satisfying.values())

    @property
    def converged(self) -> bool:
        return not self.missing and not self.duplicates and not self.orphans_left

    def describe(self) -> str:
        return (
            f"missing={list(self.missing)} duplicates={self.duplicates} "
            f"orphans_left={list(self.orphans_left)} wrong_cancels={list(self.wrong_cancels)} "
            f"extra_creates={self.extra_creates}"
        )


@dataclass(slots=True)
class Report:
    """The outcome of up to N applies on one world."""

    seed: int
    converged_after: int | None = None  # 1-based index of the apply after which it converged
    applies: list[int] = field(default_factory=list)  # exit codes
    verdict: Verdict | None = None
    leaks: int = 0
    crashes: list[str] = field(default_factory=list)  # unexpected exceptions in the CLI
    failures: list[str] = field(default_factory=list)  # the CLI's `Error:`/`Failed:` lines
    seconds: float = 0.0


CANCEL_PATHS = (
    re.compile(r"/v1/evals/runs/([^/\s]+)/cancellations\b"),
    re.compile(r"/evaluations/([^/\s]+)/cancel\b"),
    re.compile(r"/v2/task-runs/([^/\s]+)/cancel\b"),
)
HTTP_LINE = re.compile(r"^http method=(\S+) url=(\S+) (status=(\d+)|error=\S+) attempt=(\d+)")


def cancel_requests(log: str) -> set[str]:
    """Return the run ids of every cancel request the `--debug` log shows (any outcome)."""
    ids: set[str] = set()
    for line in log.splitlines():
        if not line.startswith("http method=POST "):
            continue
        for pattern in CANCEL_PATHS:
            if match := pattern.search(line):
                ids.add(unquote(match.group(1)))
    return ids


def repeated_429s(log: str) -> list[str]:
    """Return the requests answered 429 on two attempts in a row (from the `--debug` log)."""
    last: dict[tuple[str, str], tuple[int, str]] = {}
    repeated: list[str] = []
    for line in log.splitlines():
        match = HTTP_LINE.match(line)
        if match is None:
            continue
        method, url, _, status, attempt = match.groups()
        outcome = status or "error"
        previous = last.get((method, url))
        if outcome == "429" and int(attempt) > 1 and previous == (int(attempt) - 1, "429"):
            repeated.append(line)
        last[(method, url)] = (int(attempt), outcome)
    return repeated


class World:
    """One emulator, one project directory, the seeded runs and the checks."""

    def __init__(
        self,
        root: Path,
        *,
        seed: int,
        faults: emulator.Faults = FAULTS,
        provider_settings: str = "max_retries: 5, timeout_s: 5",
        per_vendor: int = 3,
    ) -> None:
        self.root = root
        self.seed = seed
        self.faults = faults
        self.clock = Clock()
        self.server = emulator.make_server(
            "127.0.0.1", 0, seed=seed, time_scale=TIME_SCALE, clock=self.clock, faults=None
        )
        self._serving = ExitStack()
        self.url = self._serving.enter_context(emulator.serve_in_thread(self.server))
        self.http = httpx.Client(base_url=self.url, timeout=10)
        self.provider_settings = provider_settings
        self.per_vendor = per_vendor
        self.bland, self.adaline, self.arize = resources(per_vendor)
        self.protected: dict[str, str] = {}  # run id -> status when seeded
        self.orphans: dict[str, str] = {}  # run id -> vendor
        self.results: list[Result] = []
        self.runner = CliRunner()

    def close(self) -> None:
        """Stop the emulator and release the client."""
        self.http.close()
        self._serving.close()

    @contextmanager
    def calm(self) -> Iterator[None]:
        """Switch the faults off while the world is seeded or inspected."""
        saved = self.server.faults
        self.server.faults = emulator.Faults()
        try:
            yield
        finally:
            self.server.faults = saved

    # --- talking to the vendors directly ------------------------------------------------

    def _post(self, path: str, key: str, body: dict[str, Any], *, bearer: bool = True) -> Any:
        auth = f"Bearer {key}" if bearer else key
        response = self.http.post(path, json=body, headers={"authorization": auth})
        assert response.status_code in (200, 201, 202), (path, response.text)
        return response.json()

    def _get(self, path: str, key: str, params: dict[str, Any], *, bearer: bool = True) -> Any:
        auth = f"Bearer {key}" if bearer else key
        response = self.http.get(path, params=params, headers={"authorization": auth})
        assert response.status_code == 200, (path, response.text)
        return response.json()

    def bland_create(self, n: int, metadata: dict[str, str]) -> str:
        body = {
            "call_ids": [call_id(n)],
            "attached_agents": [{"eval_agent_id": AGENT}],
            "metadata": metadata,
        }
        return str(self._post("/v1/evals/runs", BLAND_KEY, body, bearer=False)["data"]["id"])

    def adaline_create(self, prompt: str, evaluator: str, dataset: str) -> str:
        body = {"evaluatorId": evaluator, "datasetId": dataset}
        path = f"/v2/prompts/{prompt}/evaluations"
        return str(self._post(path, ADALINE_KEY, body)["runId"])

    def arize_trigger(self, task: str, start: str, end: str, key: str = ARIZE_KEY) -> str:
        body = {"data_start_time": f"{start}T00:00:00Z", "data_end_time": f"{end}T00:00:00Z"}
        path = f"/v2/tasks/{quote(task, safe='')}/trigger"
        return str(self._post(path, key, body)["id"])

    def bland_runs(self) -> list[Run]:
        runs: list[Run] = []
        params: dict[str, Any] = {"limit": 100}
        while True:
            page = self._get("/v1/evals/runs", BLAND_KEY, params, bearer=False)["data"]
            for item in page["data"]:
                metadata = item.get("metadata") or {}
                identity = (
                    metadata.get("reconciler.workspace", ""),
                    metadata.get("reconciler.address", ""),
                )
                runs.append(Run("bland", item["id"], item["status"].lower(), identity))
            if not page["has_more"]:
                return runs
            params = {"limit": 100, "starting_after": page["next_cursor"]}

    def adaline_runs(self) -> list[Run]:
        runs: list[Run] = []
        for prompt in (CHECKOUT, REFUND):
            params: dict[str, Any] = {"limit": 200}
            while True:
                page = self._get(f"/v2/prompts/{prompt}/evaluations", ADALINE_KEY, params)
                for item in page["evaluations"]:
                    identity = (prompt, item["evaluatorId"], item["datasetId"])
                    runs.append(Run("adaline", item["runId"], item["status"].lower(), identity))
                if not page["pagination"]["hasMore"]:
                    break
                params = {"limit": 200, "cursor": page["pagination"]["nextCursor"]}
        return runs

    def arize_runs(self) -> list[Run]:
        runs: list[Run] = []
        for task in (TASK_1, TASK_2):
            params: dict[str, Any] = {"limit": 100}
            while True:
                path = f"/v2/tasks/{quote(task, safe='')}/runs"
                page = self._get(path, ARIZE_KEY, params)
                for item in page["task_runs"]:
                    start, end = item.get("data_start_time"), item.get("data_end_time")
                    identity = (
                        task,
                        instant(start).isoformat() if start else "",
                        instant(end).isoformat() if end else "",
                    )
                    status = item["status"].lower()
                    creator = item.get("created_by_user_id")
                    runs.append(Run("arize", item["id"], status, identity, creator))
                if not page["pagination"]["has_more"]:
                    break
                params = {"limit": 100, "cursor": page["pagination"]["next_cursor"]}
        return runs

    def all_runs(self) -> list[Run]:
        """List every run at the three vendors, faults off."""
        with self.calm():
            return self.bland_runs() + self.adaline_runs() + self.arize_runs()

    # --- the world before the applies ------------------------------------------------------

    def seed_world(self) -> None:
        """Make the runs reconciler must leave alone, and the two orphans it must cancel."""
        ours = {"reconciler.workspace": WORKSPACE, "reconciler.spec-hash": "0" * 16}
        with self.calm():
            self.clock.offset = -LONG_AGO_S  # finished runs: made long ago
            finished = [
                self.bland_create(1004, {**ours, "reconciler.address": "BlandEvalRun/retired"}),
                self.adaline_create(CHECKOUT, ACCURACY, EDGE_CASES),
                self.arize_trigger(TASK_1, "2026-09-01", "2026-09-02"),
            ]
            self.clock.offset = 0.0
            unmanaged = [
                # Unlabelled, with calls-1's very spec: no `adopt`, so neither taken nor touched.
                self.bland_create(1, {"team": "support"}),
                # Another workspace's run of the same address.
                self.bland_create(
                    1,
                    {
                        "reconciler.workspace": "another-team",
                        "reconciler.address": "BlandEvalRun/calls-1",
                        "reconciler.spec-hash": "1" * 16,
                    },
                ),
                # Adaline: same key, a natural key nothing declares (Adaline runs are never ours).
                self.adaline_create(CHECKOUT, LATENCY, QUESTIONS),
                # Arize: a run of a declared task triggered with another key (foreign).
                self.arize_trigger(TASK_1, "2026-10-01", "2026-10-02", key=OTHER_ARIZE_KEY),
            ]
            self.orphans = {
                self.bland_create(
                    1005, {**ours, "reconciler.address": "BlandEvalRun/orphan"}
                ): "bland",
                self.arize_trigger(TASK_1, "2026-10-05", "2026-10-06"): "arize",
            }
        statuses = {run.run_id: run.status for run in self.all_runs()}
        for run_id in finished:
            assert statuses[run_id] not in ACTIVE, (run_id, statuses[run_id])
        for run_id in [*unmanaged, *self.orphans]:
            assert statuses[run_id] in ACTIVE, (run_id, statuses[run_id])
        self.protected = {run_id: statuses[run_id] for run_id in [*finished, *unmanaged]}

    def configure(self, *, requests_per_second: float | None = None) -> None:
        """Write reconciler.yaml and the three manifest files."""
        extra = self.provider_settings
        if requests_per_second is not None:
            extra += f", requests_per_second: {requests_per_second}"
        (self.root / "reconciler.yaml").write_text(
            textwrap.dedent(
                f"""\
                workspace: {WORKSPACE}
                manifests: ["evals/*.yaml"]
                providers:
                  bland: {{api_key: "${{BLAND_API_KEY}}", base_url: "{self.url}", {extra}}}
                  adaline: {{api_key: "${{ADALINE_API_KEY}}", base_url: "{self.url}/v2", {extra}}}
                  arize:
                    {{api_key: "${{ARIZE_API_KEY}}", base_url: "{self.url}",
                     owner_user_id: "{OWNER}", {extra}}}
                """
            )
        )
        (self.root / "evals").mkdir(exist_ok=True)
        for name, text in manifests(self.per_vendor).items():
            (self.root / "evals" / f"{name}.yaml").write_text(text)

    # --- the applies and the checks -----------------------------------------------------

    def run(self, *args: str) -> Result:
        """Run the CLI in this process with the canary keys, faults on; keep the result."""
        result = self.runner.invoke(cli, ["-C", str(self.root), "--debug", *args], env=KEYS)
        self.results.append(result)
        return result

    def apply(self) -> Result:
        return self.run("apply", "--auto-approve")

    def log(self) -> str:
        """Return everything every CLI run printed, stdout and stderr."""
        return "\n".join(r.stdout + "\n" + r.stderr for r in self.results)

    def leaks(self) -> int:
        """Count the CLI runs whose output (or exception) shows any of the keys."""
        count = 0
        for result in self.results:
            text = result.stdout + result.stderr + repr(result.exception)
            count += any(key in text for key in KEYS.values())
        return count

    def crashes(self) -> list[str]:
        """Return the unexpected exceptions the CLI raised (with --debug it re-raises them)."""
        return [
            f"{type(r.exception).__name__}: {r.exception}"
            for r in self.results
            if r.exception is not None and not isinstance(r.exception, SystemExit)
        ]

    def verdict(self) -> Verdict:
        """List every run at the vendors and check the promise against it."""
        runs = self.all_runs()
        satisfying: Counter[str] = Counter()
        made: Counter[str] = Counter()
        wanted: dict[tuple[str, tuple[str, ...]], str] = {}
        for name, address in self.bland.items():
            wanted[("bland", (WORKSPACE, address))] = f"bland/{name}"
        for name, key in self.adaline.items():
            wanted[("adaline", key)] = f"adaline/{name}"
        for name, (task, start, end) in self.arize.items():
            identity = (task, instant(start).isoformat(), instant(end).isoformat())
            wanted[("arize", identity)] = f"arize/{name}"
        for resource in wanted.values():
            satisfying[resource] = 0
        for run in runs:
            resource = wanted.get((run.vendor, run.identity))
            if resource is None:
                continue
            made[resource] += 1
            satisfying[resource] += run.satisfies
        by_id = {run.run_id: run for run in runs}
        asked = cancel_requests(self.log())
        wrong = sorted(
            run_id
            for run_id, before in self.protected.items()
            if run_id in asked or (by_id[run_id].status != before and by_id[run_id].cancelled)
        )
        orphans_left = tuple(
            sorted(f"{vendor}:{i}" for i, vendor in self.orphans.items() if by_id[i].active)
        )
        return Verdict(
            satisfying=dict(satisfying),
            extra_creates=sum(max(0, n - 1) for n in made.values()),
            orphans_left=orphans_left,
            wrong_cancels=tuple(wrong),
        )

    def converge(self, *, applies: int = 3) -> Report:
        """Seed, configure, then apply (faults on) until the world has converged: at most N."""
        started = time.monotonic()
        report = Report(seed=self.seed)
        self.seed_world()
        self.configure()
        self.server.faults = self.faults
        for n in range(1, applies + 1):
            report.applies.append(self.apply().exit_code)
            report.verdict = self.verdict()
            if report.verdict.converged:
                report.converged_after = n
                break
        report.leaks = self.leaks()
        report.failures = [
            line
            for result in self.results
            for line in result.stderr.splitlines()
            if line.startswith(("Error: ", "Failed: "))
        ]
        report.crashes = self.crashes()
        report.seconds = time.monotonic() - started
        return report
