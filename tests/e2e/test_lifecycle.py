"""Import, rename, release and stages, as a user drives them against the emulator."""

from __future__ import annotations

import httpx
import pytest

from tests.clock import Clock
from tests.e2e.test_bland import AGENT, API_KEY, CALLS, Project

PASSING = "thresholds:\n  - {metric: cost_usd, max: 1000}\n"
FAILING = "thresholds:\n  - {path: summary.overall_score_mean, min: 1000}\n"
AFTER_SMOKE = "lifecycle:\n  after: [{address: BlandEvalRun/smoke, gates: pass}]\n"


class RunningClock(Clock):
    """A clock that moves a minute each time the emulator reads it: runs finish while
    `apply --wait` polls, without the test sleeping through the vendor's minutes."""

    def __call__(self) -> float:
        self.now += 60
        return self.now


@pytest.fixture
def project(tmp_path, start_emulator, clock) -> Project:
    project = Project(root=tmp_path, base_url=start_emulator(seed=3, clock=clock))
    project.configure()
    return project


def bland_runs(project: Project) -> list[dict]:
    """Every run at the emulator, read over plain HTTP (not through reconciler)."""
    headers = {"authorization": API_KEY}
    runs: list[dict] = []
    cursor = None
    while True:
        params = {"limit": 100, **({"starting_after": cursor} if cursor else {})}
        page = httpx.get(f"{project.base_url}/v1/evals/runs", params=params, headers=headers)
        page.raise_for_status()
        body = page.json()["data"]
        runs += body["data"]
        if not body["has_more"]:
            return runs
        cursor = body["data"][-1]["id"]


def create_by_script(project: Project, calls: list[str], **extra: object) -> str:
    """Start a run straight at the vendor, as a team's old script did (no reconciler labels)."""
    body = {
        "call_ids": calls,
        "attached_agents": [{"eval_agent_id": AGENT, "weight": 100}],
        "run_mode": "text",
        **extra,
    }
    answer = httpx.post(
        f"{project.base_url}/v1/evals/runs", json=body, headers={"authorization": API_KEY}
    )
    answer.raise_for_status()
    return str(answer.json()["data"]["id"])


# --- import ----------------------------------------------------------------------------------


def test_imported_runs_satisfy_their_documents_and_deleting_one_cancels_nothing(project):
    """Runs made by a script: import, validate, plan 0; delete a document: still nothing."""
    ids = [
        create_by_script(project, CALLS[:2]),
        create_by_script(project, CALLS[2:5], metadata={"team": "support"}),
    ]
    (project.root / "evals").mkdir()
    imported = project.run("import", "--out", "evals/imported/")
    assert 0 == imported.exit_code, imported.output
    written = project.root / "evals" / "imported" / "bland.yaml"
    assert "Wrote 2 document(s)" in imported.stdout
    assert "lifecycle: {adopt: true}" in written.read_text()
    assert 0 == project.run("validate").exit_code
    plan = project.run("plan", "--detailed-exitcode")
    assert 0 == plan.exit_code, plan.stdout
    # Delete the documents: the runs carry no labels of ours, so nothing is cancelled.
    written.unlink()
    project.declare("other")
    after = project.run("plan", "--format", "json")
    cancels = [c for c in after.stdout.splitlines() if '"delete"' in c]
    assert [] == cancels
    assert {r["id"]: r["status"] for r in bland_runs(project) if r["id"] in ids}.keys() == set(ids)


def test_an_imported_managed_run_keeps_its_address_and_spec(project, clock):
    """A run this workspace made, whose document was lost: import restores its address."""
    project.declare("nightly")
    assert 0 == project.run("apply", "--auto-approve").exit_code
    clock.advance(24 * 3600)  # pass_threshold_pct shows in the run's summary once finished
    project.remove("nightly")
    project.declare("keeper")
    imported = project.run("import", "--out", "evals/restored.yaml")
    assert 0 == imported.exit_code, imported.output
    assert "Wrote 1 document(s)" in imported.stdout, imported.output
    text = (project.root / "evals" / "restored.yaml").read_text()
    assert "metadata: {name: nightly}" in text
    assert "adopt" not in text  # our labels identify it: no adoption needed
    plan = project.run("plan", "--detailed-exitcode", "--target", "BlandEvalRun/nightly")
    assert 0 == plan.exit_code, plan.stdout


def test_import_never_writes_over_a_file_without_force(project):
    """An existing --out file: exit 1, one line naming it, the file unchanged."""
    create_by_script(project, CALLS[:2])
    (project.root / "evals").mkdir()
    mine = project.root / "evals" / "mine.yaml"
    mine.write_text("# my notes\n")
    refused = project.run("import", "--out", "evals/mine.yaml")
    assert 1 == refused.exit_code
    assert "already exist(s); nothing was written" in refused.stderr
    assert "Traceback" not in refused.output
    assert "# my notes\n" == mine.read_text()
    forced = project.run("import", "--out", "evals/mine.yaml", "--force")
    assert 0 == forced.exit_code, forced.output
    assert "kind: BlandEvalRun" in mine.read_text()


def test_import_names_the_runs_it_cannot_import_and_why(project):
    """Another workspace's run is named, with why, and not written."""
    project.configure(workspace="other-team")
    project.declare("theirs")
    assert 0 == project.run("apply", "--auto-approve").exit_code
    project.remove("theirs")
    project.configure(workspace="support-evals")
    result = project.run("import", "--out", "evals/imported.yaml")
    assert 0 == result.exit_code, result.output
    assert "Not imported: Bland run" in result.stderr
    assert "it belongs to reconciler workspace 'other-team'" in result.stderr
    assert not (project.root / "evals" / "imported.yaml").exists()


# --- rename and release ----------------------------------------------------------------------


def test_a_rename_with_moved_from_runs_nothing_again_and_says_moved(project):
    """Rename nightly to checkout with moved_from: no create, no cancel, a `~ moved` line."""
    project.declare("nightly")
    assert 0 == project.run("apply", "--auto-approve").exit_code
    project.remove("nightly")
    project.declare("checkout", extra="lifecycle:\n  moved_from: [BlandEvalRun/nightly]\n")
    plan = project.run("plan", "--detailed-exitcode")
    assert 0 == plan.exit_code, plan.stdout
    assert "~ moved BlandEvalRun/nightly -> BlandEvalRun/checkout" in plan.stdout
    assert "No changes." in plan.stdout


def test_a_released_address_is_never_cancelled_once_its_document_is_gone(project):
    """release: ["BlandEvalRun/legacy-*"]: the run is reported as released, not cancelled."""
    project.declare("legacy-nightly")
    assert 0 == project.run("apply", "--auto-approve").exit_code
    project.remove("legacy-nightly")
    project.declare("keeper")
    config = project.root / "reconciler.yaml"
    config.write_text(config.read_text() + 'release: ["BlandEvalRun/legacy-*"]\n')
    plan = project.run("plan")
    assert "released BlandEvalRun/legacy-nightly" in plan.stdout
    assert "- cancel" not in plan.stdout
    assert "Plan: 1 to create, 0 to cancel, 0 to replace." in plan.stdout
    project.run("apply", "--auto-approve")
    statuses = {r["metadata"].get("reconciler.address"): r["status"] for r in bland_runs(project)}
    assert statuses["BlandEvalRun/legacy-nightly"].lower() != "cancelled"


def test_status_does_not_judge_a_released_resource_that_apply_will_never_create(project, clock):
    """A declared address under `release:` has no run and gets none: status leaves it out."""
    project.declare("keeper", extra=PASSING)
    project.declare("legacy-weekly")
    config = project.root / "reconciler.yaml"
    config.write_text(config.read_text() + 'release: ["BlandEvalRun/legacy-*"]\n')
    assert 0 == project.run("apply", "--auto-approve").exit_code
    clock.advance(24 * 3600)

    status = project.run("status", "--timeout", "0")

    assert "legacy-weekly" not in status.stdout, status.stdout
    assert "run `reconciler apply`" not in status.stdout
    assert "Status: 1 resource(s): 1 passed." in status.stdout
    assert 0 == status.exit_code


# --- stages ----------------------------------------------------------------------------------


def declare_pipeline(project: Project, smoke_gates: str) -> None:
    project.declare("smoke", extra=smoke_gates)
    project.declare("full", calls=5, extra=AFTER_SMOKE + PASSING)


def test_a_stage_whose_gate_failed_is_never_created_and_status_says_why(project, clock):
    """Smoke misses its threshold: full is not created; plan has no changes; status exits 3."""
    declare_pipeline(project, FAILING)
    first = project.run("apply", "--auto-approve")
    assert 0 == first.exit_code, first.output
    assert "+ create BlandEvalRun/full (waits for BlandEvalRun/smoke)" in first.stdout
    assert "Apply complete: 1 created" in first.stdout
    waiting = project.run("plan", "--detailed-exitcode")
    assert 0 == waiting.exit_code, waiting.stdout  # rule 10: a held stage is not a change
    clock.advance(24 * 3600)
    failed = project.run("plan", "--detailed-exitcode")
    assert 0 == failed.exit_code, failed.stdout
    assert "+ create BlandEvalRun/full (fails on BlandEvalRun/smoke)" in failed.stdout
    project.run("apply", "--auto-approve")
    addresses = [r["metadata"].get("reconciler.address") for r in bland_runs(project)]
    assert ["BlandEvalRun/smoke"] == addresses
    status = project.run("status")
    assert 3 == status.exit_code, status.stdout
    assert "not created: the stage before it (BlandEvalRun/smoke) failed its gates" in status.stdout


def test_a_stage_is_created_by_a_later_apply_once_the_one_before_passed(project, clock):
    """Without --wait: the first apply starts smoke; a day later the next apply starts full."""
    declare_pipeline(project, PASSING)
    project.run("apply", "--auto-approve")
    clock.advance(24 * 3600)
    ready = project.run("plan", "--detailed-exitcode")
    assert 2 == ready.exit_code, ready.stdout
    assert "+ create BlandEvalRun/full" in ready.stdout
    project.run("apply", "--auto-approve")
    addresses = sorted(r["metadata"].get("reconciler.address") for r in bland_runs(project))
    assert ["BlandEvalRun/full", "BlandEvalRun/smoke"] == addresses


def test_apply_wait_creates_each_stage_when_the_one_before_passed(tmp_path, start_emulator):
    """apply --wait: smoke runs, passes, then full is created and judged, in one command."""
    project = Project(root=tmp_path, base_url=start_emulator(seed=3, clock=RunningClock()))
    project.configure()
    declare_pipeline(project, PASSING)
    result = project.run("apply", "--auto-approve", "--wait", "--timeout", "120")
    assert 0 == result.exit_code, result.output
    assert "Stage ready: creating BlandEvalRun/full" in result.stdout
    assert "Status: 2 resource(s): 2 passed." in result.stdout
    addresses = sorted(r["metadata"].get("reconciler.address") for r in bland_runs(project))
    assert ["BlandEvalRun/full", "BlandEvalRun/smoke"] == addresses


def test_apply_wait_never_creates_a_stage_whose_gate_failed(tmp_path, start_emulator):
    """apply --wait with a failing smoke: full is never created; exit 3."""
    project = Project(root=tmp_path, base_url=start_emulator(seed=3, clock=RunningClock()))
    project.configure()
    declare_pipeline(project, FAILING)
    result = project.run("apply", "--auto-approve", "--wait", "--timeout", "120")
    assert 3 == result.exit_code, result.output
    assert "Stage ready" not in result.stdout
    addresses = [r["metadata"].get("reconciler.address") for r in bland_runs(project)]
    assert ["BlandEvalRun/smoke"] == addresses


def test_the_staged_example_runs_its_two_stages_in_one_apply_wait(tmp_path, monkeypatch):
    """examples/staged: the plan holds checkout-full; apply --wait creates it after smoke."""
    from click.testing import CliRunner

    from reconciler.cli import cli
    from tests.examples import copy_examples

    staged = copy_examples(tmp_path) / "staged"
    monkeypatch.setenv("RECONCILER_EMULATOR_TIME_SCALE", "100000")
    runner = CliRunner()
    plan = runner.invoke(cli, ["-C", str(staged), "plan", "--detailed-exitcode"])
    assert 2 == plan.exit_code, plan.output
    assert (
        "+ create BlandEvalRun/checkout-full (waits for BlandEvalRun/checkout-smoke)" in plan.stdout
    )
    applied = runner.invoke(
        cli, ["-C", str(staged), "apply", "--auto-approve", "--wait", "--timeout", "60"]
    )
    assert 0 == applied.exit_code, applied.output
    assert "Stage ready: creating BlandEvalRun/checkout-full" in applied.stdout
    assert "Status: 2 resource(s): 2 passed." in applied.stdout


def test_label_less_runs_import_by_natural_key_and_a_rename_there_is_a_no_op(
    tmp_path, start_emulator, clock
):
    """Adaline and Arize: import writes key-matched documents; renaming one changes nothing."""
    from tests.e2e.test_mixed_vendors import (
        BLAND_DOC,
        PROMPT,
        TASK,
        adaline_doc,
        arize_doc,
    )
    from tests.e2e.test_mixed_vendors import Project as Mixed

    project = Mixed(root=tmp_path, url=start_emulator(seed=11, clock=clock), owner=None)
    project.task_ids = (TASK,)
    project.configure()
    project.write("bland", BLAND_DOC)
    project.write("adaline", adaline_doc())
    project.write("arize", arize_doc())
    assert 0 == project.run("apply", "--auto-approve").exit_code
    project.remove("adaline")
    project.remove("arize")
    imported = project.run("import", "--out", "evals/imported/", "--adaline-prompt", PROMPT)
    assert 0 == imported.exit_code, imported.output
    adaline = (project.root / "evals" / "imported" / "adaline.yaml").read_text()
    arize = (project.root / "evals" / "imported" / "arize.yaml").read_text()
    assert "kind: AdalineEvaluation" in adaline
    assert "kind: ArizeTaskRun" in arize
    assert "adopt" not in adaline + arize
    assert 0 == project.run("plan", "--detailed-exitcode").exit_code
    renamed = adaline.replace("metadata: {name: ", "metadata: {name: renamed-")
    (project.root / "evals" / "imported" / "adaline.yaml").write_text(renamed)
    after = project.run("plan", "--detailed-exitcode")
    assert 0 == after.exit_code, after.output


def test_a_saved_plan_with_a_held_stage_applies_only_what_it_shows(project, tmp_path):
    """plan -out then apply FILE: smoke is created, full stays held; the file is format 1.2."""
    declare_pipeline(project, PASSING)
    saved = tmp_path / "plan.json"
    assert 2 == project.run("plan", "-out", str(saved), "--detailed-exitcode").exit_code
    assert '"format_version": "1.2"' in saved.read_text()
    applied = project.run("apply", str(saved))
    assert 0 == applied.exit_code, applied.output
    addresses = [r["metadata"].get("reconciler.address") for r in bland_runs(project)]
    assert ["BlandEvalRun/smoke"] == addresses
