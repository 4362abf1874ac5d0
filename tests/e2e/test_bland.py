"""The CLI as a user drives it, against the emulator over loopback HTTP."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jsonschema
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from tests.examples import copy_examples

ROOT = Path(__file__).resolve().parents[2]
PLAN_SCHEMA = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
API_KEY = "sk-canary-7f3e9b1c-do-not-print"
AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
CALLS = [f"a1b2c3d4-0000-4000-8000-{n:012d}" for n in range(1, 9)]


@dataclass
class Project:
    """A user's repository: reconciler.yaml, manifests, and the CLI run inside it."""

    root: Path
    base_url: str
    workspace: str = "support-evals"
    max_cancellations: int = 10
    runner: CliRunner = field(default_factory=CliRunner)

    def configure(self, *, workspace: str | None = None, max_cancellations: int | None = None):
        self.workspace = workspace or self.workspace
        self.max_cancellations = max_cancellations or self.max_cancellations
        (self.root / "reconciler.yaml").write_text(
            textwrap.dedent(
                f"""\
                workspace: {self.workspace}
                manifests: ["evals/**/*.yaml"]
                providers:
                  bland:
                    api_key: "${{BLAND_API_KEY}}"
                    base_url: {self.base_url}
                safety:
                  max_cancellations: {self.max_cancellations}
                """
            )
        )

    def declare(self, name: str, *, calls: int = 2, threshold: int = 75, extra: str = "") -> None:
        evals = self.root / "evals"
        evals.mkdir(exist_ok=True)
        call_lines = "\n".join(f"    - {c}" for c in CALLS[:calls])
        (evals / f"{name}.yaml").write_text(
            f"apiVersion: reconciler/v1\n"
            f"kind: BlandEvalRun\n"
            f"metadata:\n  name: {name}\n"
            f"spec:\n"
            f"  call_ids:\n{call_lines}\n"
            f"  attached_agents:\n"
            f"    - eval_agent_id: {AGENT}\n"
            f"      weight: 100\n"
            f"  run_mode: text\n"
            f"  pass_threshold_pct: {threshold}\n" + extra
        )

    def remove(self, name: str) -> None:
        (self.root / "evals" / f"{name}.yaml").unlink()

    def run(self, *args: str, key: str = API_KEY) -> Result:
        return self.runner.invoke(
            cli, ["-C", str(self.root), *args], env={"BLAND_API_KEY": key}, catch_exceptions=False
        )

    def plan_json(self, *args: str) -> dict:
        result = self.run("plan", "--format", "json", *args)
        assert result.exit_code == 0, result.stderr
        document = json.loads(result.stdout)
        jsonschema.validate(document, PLAN_SCHEMA)
        return document


def runs_at_vendor(base_url: str, key: str = API_KEY) -> list[dict]:
    """List every run the emulator holds for `key`, as the vendor sees them."""
    runs: list[dict] = []
    cursor = None
    with httpx.Client(base_url=base_url, headers={"authorization": key}) as client:
        while True:
            params = {"limit": 100, **({"starting_after": cursor} if cursor else {})}
            page = client.get("/v1/evals/runs", params=params).json()["data"]
            runs.extend(page["data"])
            if not page["has_more"]:
                return runs
            cursor = page["next_cursor"]


def actions(document: dict) -> dict[str, str]:
    return {c["subject"]: c["action"] for c in document["changes"] if c["action"] != "no-op"}


@pytest.fixture
def project(tmp_path, start_emulator, clock) -> Project:
    url = start_emulator(seed=7, clock=clock)
    project = Project(root=tmp_path, base_url=url)
    project.configure()
    project.declare("checkout-nightly")
    project.declare("refunds-weekly", calls=3)
    return project


class TestConverge:
    def test_first_apply_creates_every_run_and_a_second_plan_is_empty(self, project):
        first = project.run("apply", "--auto-approve")
        assert first.exit_code == 0, first.stderr
        assert "Plan: 2 to create, 0 to cancel, 0 to replace." in first.stdout
        assert "Apply complete: 2 created, 0 cancelled, 0 replaced." in first.stdout
        assert len(runs_at_vendor(project.base_url)) == 2

        again = project.run("plan", "--detailed-exitcode")
        assert again.exit_code == 0, again.stdout + again.stderr
        assert "No changes." in again.stdout

    def test_a_second_apply_has_nothing_to_do(self, project):
        project.run("apply", "--auto-approve")
        second = project.run("apply", "--auto-approve")
        assert second.exit_code == 0
        assert "Nothing to do." in second.stdout
        assert len(runs_at_vendor(project.base_url)) == 2

    def test_created_runs_carry_the_ownership_labels(self, project):
        project.run("apply", "--auto-approve")
        labels = {
            r["metadata"]["reconciler.address"]: r["metadata"]
            for r in runs_at_vendor(project.base_url)
        }
        assert {"BlandEvalRun/checkout-nightly", "BlandEvalRun/refunds-weekly"} == set(labels)
        assert "support-evals" == labels["BlandEvalRun/checkout-nightly"]["reconciler.workspace"]

    def test_detailed_exitcode_is_2_when_changes_are_pending(self, project):
        result = project.run("plan", "--detailed-exitcode")
        assert result.exit_code == 2
        assert "+ create BlandEvalRun/checkout-nightly" in result.stdout


class TestChanges:
    def test_a_changed_spec_is_a_replace_listing_the_changed_fields(self, project):
        project.run("apply", "--auto-approve")
        project.declare("checkout-nightly", threshold=90)

        document = project.plan_json()
        assert {"BlandEvalRun/checkout-nightly": "replace"} == actions(document)
        replace = next(c for c in document["changes"] if c["action"] == "replace")
        assert ["create", "delete"] == replace["actions"]  # create before destroy, as apply
        assert [{"path": "pass_threshold_pct", "change": "changed", "new": 90}] == replace[
            "changed"
        ]
        text = project.run("plan").stdout
        assert "-/+ replace BlandEvalRun/checkout-nightly" in text
        assert "~ pass_threshold_pct = 90" in text

    def test_applying_a_replace_cancels_the_old_run_and_creates_one(self, project):
        project.run("apply", "--auto-approve")
        project.declare("checkout-nightly", threshold=90)
        result = project.run("apply", "--auto-approve")
        assert "Apply complete: 0 created, 0 cancelled, 1 replaced." in result.stdout
        statuses = sorted(r["status"] for r in runs_at_vendor(project.base_url))
        assert ["CANCELLED", "PENDING", "PENDING"] == statuses
        assert project.run("plan", "--detailed-exitcode").exit_code == 0

    def test_a_removed_document_prunes_its_active_run(self, project):
        project.run("apply", "--auto-approve")
        project.remove("refunds-weekly")
        assert {"BlandEvalRun/refunds-weekly": "cancel"} == actions(project.plan_json())
        result = project.run("apply", "--auto-approve")
        assert result.exit_code == 0
        by_address = {
            r["metadata"]["reconciler.address"]: r["status"]
            for r in runs_at_vendor(project.base_url)
        }
        assert "CANCELLED" == by_address["BlandEvalRun/refunds-weekly"]
        assert "CANCELLED" != by_address["BlandEvalRun/checkout-nightly"]

    def test_a_finished_run_is_never_cancelled(self, project, clock):
        project.run("apply", "--auto-approve")
        clock.advance(24 * 3600)  # every run has long finished
        project.remove("refunds-weekly")
        project.declare("checkout-nightly", threshold=90)
        document = project.plan_json()
        # The changed resource gets a new run; nothing finished is cancelled.
        assert {"BlandEvalRun/checkout-nightly": "create"} == actions(document)

    def test_a_run_of_another_workspace_is_never_touched(self, project):
        project.configure(workspace="payments-evals")
        project.run("apply", "--auto-approve")
        project.configure(workspace="support-evals")
        project.remove("refunds-weekly")
        document = project.plan_json()
        assert {"BlandEvalRun/checkout-nightly": "create"} == actions(document)
        (bland,) = document["counts"]
        assert 2 == bland["foreign"]

    def test_an_unlabelled_run_with_the_same_spec_is_adopted_when_asked(self, project):
        with httpx.Client(base_url=project.base_url, headers={"authorization": API_KEY}) as c:
            body = {
                "call_ids": CALLS[:2],
                "attached_agents": [{"eval_agent_id": AGENT, "weight": 100}],
                "run_mode": "text",
                "pass_threshold_pct": 75,
            }
            assert c.post("/v1/evals/runs", json=body).status_code == 202
        project.declare("checkout-nightly", extra="lifecycle:\n  adopt: true\n")
        document = project.plan_json()
        assert {"BlandEvalRun/refunds-weekly": "create"} == actions(document)
        adopted = next(c for c in document["changes"] if c["subject"].endswith("checkout-nightly"))
        assert ("no-op", "adopted") == (adopted["action"], adopted["reason"])


class TestSafety:
    def test_apply_without_auto_approve_outside_a_terminal_changes_nothing(self, project):
        result = project.run("apply")
        assert result.exit_code == 1
        assert "--auto-approve" in result.stderr
        assert [] == runs_at_vendor(project.base_url)

    def test_the_mass_cancel_guard_refuses_until_allowed(self, project):
        project.configure(max_cancellations=1)
        project.run("apply", "--auto-approve")
        project.declare("other")
        project.remove("checkout-nightly")
        project.remove("refunds-weekly")
        refused = project.run("apply", "--auto-approve")
        assert refused.exit_code == 1
        assert "--allow-mass-cancel" in refused.stderr
        assert 2 == len(runs_at_vendor(project.base_url))
        allowed = project.run("apply", "--auto-approve", "--allow-mass-cancel")
        assert allowed.exit_code == 0, allowed.stderr

    def test_a_failed_listing_aborts_the_plan(self, project):
        result = project.run("plan", key="evals-off-" + API_KEY)
        assert result.exit_code == 1
        assert "Traceback" not in result.stderr
        assert "bland" in result.stderr

    def test_a_bad_manifest_is_one_line_naming_file_line_and_field(self, project):
        project.declare("checkout-nightly", threshold=150)
        result = project.run("plan")
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert 1 == len(lines)
        assert "evals/checkout-nightly.yaml:" in lines[0]
        assert "spec.pass_threshold_pct" in lines[0]


class TestSavedPlans:
    def test_a_saved_plan_applies_exactly_what_was_reviewed(self, project, tmp_path):
        plan_file = tmp_path / "plan.json"
        assert project.run("plan", "-out", str(plan_file)).exit_code == 0
        result = project.run("apply", str(plan_file))
        assert result.exit_code == 0, result.stderr
        assert 2 == len(runs_at_vendor(project.base_url))

    def test_a_stale_saved_plan_is_refused_with_what_changed(self, project, tmp_path):
        plan_file = tmp_path / "plan.json"
        project.run("plan", "-out", str(plan_file))
        project.run("apply", "--auto-approve")  # somebody applied in between
        result = project.run("apply", str(plan_file))
        assert result.exit_code == 1
        assert "stale" in result.stderr
        assert "appeared" in result.stderr
        assert 2 == len(runs_at_vendor(project.base_url))


class TestSecrets:
    def test_the_api_key_appears_in_no_output_log_or_plan_file(self, project, tmp_path):
        plan_file = tmp_path / "plan.json"
        outputs = [
            project.run("--debug", "plan", "-out", str(plan_file)),
            project.run("--debug", "plan", "--format", "json"),
            project.run("--debug", "apply", "--auto-approve"),
            project.run("--debug", "plan", key="Bearer " + API_KEY),  # rejected: 401
        ]
        for result in outputs:
            assert API_KEY not in result.stdout
            assert API_KEY not in result.stderr
        assert API_KEY not in plan_file.read_text()

    def test_a_rejected_key_is_reported_without_the_key(self, project):
        result = project.run("plan", key="Bearer " + API_KEY)
        assert result.exit_code == 1
        assert API_KEY not in result.stderr + result.stdout
        assert "401" in result.stderr


def test_the_quickstart_examples_apply_then_have_nothing_to_do(tmp_path):
    """The README's first command, then a second apply: against the embedded emulator."""
    examples = copy_examples(tmp_path)
    # A million-fold time scale: every run has finished by the second apply, so this also
    # proves the examples' first runs finish well (a failed one would be created again).
    runner = CliRunner(env={"RECONCILER_EMULATOR_TIME_SCALE": "1000000"})
    first = runner.invoke(cli, ["-C", str(examples), "apply", "--auto-approve"])
    assert first.exit_code == 0, first.stderr
    assert "Apply complete: 5 created" in first.stdout
    second = runner.invoke(cli, ["-C", str(examples), "apply", "--auto-approve"])
    assert second.exit_code == 0, second.stderr
    assert "Nothing to do." in second.stdout
    assert (examples / ".reconciler").is_dir()
    # The tour's status: every run finished; one gate fails on purpose (the Wilson bound).
    status = runner.invoke(cli, ["-C", str(examples), "status", "--timeout", "60"])
    assert 3 == status.exit_code, status.stdout
    assert "Status: 5 resource(s): 4 passed, 1 failed." in status.stdout
    assert "FAILED   AdalineEvaluation/refund-policy" in status.stdout
