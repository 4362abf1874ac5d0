"""Which listed runs keep their leaves: only those a command reads them from (issue 13, memory).

Through the real providers against the emulator over loopback. A plan lists 100,000 runs of
the organisation and reads the leaves (`LiveRun.fields`) of a handful: its own runs, for the
markdown diff of a replace, and the runs of a resource with a `path:` threshold. Every other
run is kept without them (about 0.7 KiB less per run); `status` still judges its `path:`
gates and `import` still rebuilds documents from another owner's runs.
"""

from __future__ import annotations

import json
from textwrap import dedent

import httpx
import pytest

from reconciler.session import Session
from reconciler.vendors.base import LeavesNotKept
from tests.e2e.test_mixed_vendors import (
    BLAND_DOC,
    DATASET,
    EVALUATOR,
    KEYS,
    OTHER_DATASET,
    OTHER_EVALUATOR,
    Project,
    adaline_doc,
    adaline_runs,
)

SCORE = "summary.overall_score_mean"
PASS_RUNS = "metrics.passRuns"
AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
BLAND_KEY = KEYS["BLAND_API_KEY"]
SCRIPT_CALLS = ["a1b2c3d4-0000-4000-8000-000000000007", "a1b2c3d4-0000-4000-8000-000000000008"]


@pytest.fixture
def project(tmp_path, start_emulator, clock) -> Project:
    """Our Bland run and Adaline run with `path:` gates, one Adaline run without, and a
    Bland run another team's script made; all finished."""
    project = Project(root=tmp_path, url=start_emulator(seed=11, clock=clock))
    project.configure()
    project.write("bland", dedent(BLAND_DOC) + f"thresholds:\n  - {{path: {SCORE}, min: 0}}\n")
    gate = f"thresholds:\n  - {{path: {PASS_RUNS}, min: 0}}\n"
    project.write("accuracy", dedent(adaline_doc()) + gate)
    project.write("latency", adaline_doc("latency", OTHER_EVALUATOR, OTHER_DATASET))
    applied = project.run("apply", "--auto-approve")
    assert 0 == applied.exit_code, applied.output
    body = {"call_ids": SCRIPT_CALLS, "attached_agents": [{"eval_agent_id": AGENT}]}
    created = httpx.post(
        f"{project.url}/v1/evals/runs", json=body, headers={"authorization": BLAND_KEY}
    )
    created.raise_for_status()
    clock.advance(24 * 3600)
    return project


def bland_runs(project: Project) -> list[dict]:
    url = f"{project.url}/v1/evals/runs"
    answer = httpx.get(url, params={"limit": 100}, headers={"authorization": BLAND_KEY})
    return list(answer.json()["data"]["data"])


def test_a_plan_keeps_the_leaves_only_of_runs_a_gate_or_a_replace_diff_reads(project):
    """The live state a plan is made from: another owner's run and a run of an ungated key
    carry no leaves (reading them is a bug, not n/a); the gated runs carry theirs."""
    with Session(config_path=project.root / "reconciler.yaml", environ=KEYS) as session:
        runs = {run.run_id: run for run in session.observe().runs}
    by_owner = {bool(r["metadata"]): r for r in bland_runs(project)}
    ours, script = by_owner[True], by_owner[False]
    assert ours["summary"]["overall_score_mean"] == runs[ours["id"]].fields.get(SCORE)
    with pytest.raises(LeavesNotKept):
        runs[script["id"]].fields.get(SCORE)
    by_key = {(e["evaluatorId"], e["datasetId"]): e for e in adaline_runs(project)}
    gated, ungated = by_key[(EVALUATOR, DATASET)], by_key[(OTHER_EVALUATOR, OTHER_DATASET)]
    assert gated["metrics"]["passRuns"] == runs[gated["runId"]].fields.get(PASS_RUNS)
    with pytest.raises(LeavesNotKept):
        runs[ungated["runId"]].fields.get(PASS_RUNS)

    # status still judges each `path:` gate on the value the vendor reports
    status = project.run("status", "--format", "json")
    assert 0 == status.exit_code, status.output
    gates = {
        r["address"]: [(g["path"], g["value"]) for g in r["gates"]]
        for r in json.loads(status.stdout)["resources"]
    }
    assert [(SCORE, ours["summary"]["overall_score_mean"])] == gates["BlandEvalRun/nightly"]
    assert [(PASS_RUNS, gated["metrics"]["passRuns"])] == gates["AdalineEvaluation/accuracy"]

    # import still rebuilds the script's run from its leaves
    imported = project.run("import", "--vendor", "bland", "--out", "evals/imported.yaml")
    assert 0 == imported.exit_code, imported.output
    text = (project.root / "evals" / "imported.yaml").read_text()
    assert all(call in text for call in SCRIPT_CALLS), text
