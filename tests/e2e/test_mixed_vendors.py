"""Manifests that mix the three vendors, driven through the CLI against the emulator."""

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
from reconciler.emulator.arize import user_id_of

ROOT = Path(__file__).resolve().parents[2]
PLAN_SCHEMA = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
KEYS = {"BLAND_API_KEY": "bland-e2e-key", "ADALINE_API_KEY": "adaline-e2e-key"}
KEYS["ARIZE_API_KEY"] = "arize-e2e-key"
OWNER = user_id_of(KEYS["ARIZE_API_KEY"])
PROMPT = "prompt_checkout_assistant_0001"
EVALUATOR = "evaluator_checkout_accuracy_0001"
DATASET = "dataset_checkout_questions_0001"
OTHER_EVALUATOR = "evaluator_checkout_latency_0002"
OTHER_DATASET = "dataset_checkout_edge_cases_0002"
TASK = "T25saW5lVGFzazoxOnNlZWQ="


@dataclass
class Project:
    root: Path
    url: str
    owner: str | None = OWNER
    task_ids: tuple[str, ...] = ()
    runner: CliRunner = field(default_factory=CliRunner)

    def configure(self) -> None:
        owner = f"\n    owner_user_id: {self.owner}" if self.owner else ""
        if self.task_ids:
            owner += f"\n    task_ids: {json.dumps(list(self.task_ids))}"
        (self.root / "reconciler.yaml").write_text(
            textwrap.dedent(
                f"""\
                workspace: mixed
                manifests: ["evals/*.yaml"]
                providers:
                  bland: {{api_key: "${{BLAND_API_KEY}}", base_url: "{self.url}"}}
                  adaline: {{api_key: "${{ADALINE_API_KEY}}", base_url: "{self.url}/v2"}}
                  arize:
                    api_key: "${{ARIZE_API_KEY}}"
                    base_url: "{self.url}\""""
            )
            + owner
            + "\n"
        )

    def write(self, name: str, text: str) -> None:
        (self.root / "evals").mkdir(exist_ok=True)
        (self.root / "evals" / f"{name}.yaml").write_text(textwrap.dedent(text))

    def remove(self, name: str) -> None:
        (self.root / "evals" / f"{name}.yaml").unlink()

    def run(self, *args: str) -> Result:
        return self.runner.invoke(cli, ["-C", str(self.root), *args], env=KEYS)

    def plan_json(self) -> dict:
        result = self.run("plan", "--format", "json")
        assert 0 == result.exit_code, result.stderr
        document = json.loads(result.stdout)
        jsonschema.validate(document, PLAN_SCHEMA)
        return document


def adaline_doc(name: str = "accuracy", evaluator: str = EVALUATOR, dataset: str = DATASET):
    return f"""\
        apiVersion: reconciler/v1
        kind: AdalineEvaluation
        metadata: {{name: {name}}}
        spec: {{promptId: {PROMPT}, evaluatorId: {evaluator}, datasetId: {dataset}}}
        """


def arize_doc(name: str = "week-45", start: str = "2026-11-02", end: str = "2026-11-09"):
    return f"""\
        apiVersion: reconciler/v1
        kind: ArizeTaskRun
        metadata: {{name: {name}}}
        spec:
          task_id: "{TASK}"
          data_start_time: "{start}T00:00:00Z"
          data_end_time: "{end}T00:00:00Z"
        """


BLAND_DOC = """\
    apiVersion: reconciler/v1
    kind: BlandEvalRun
    metadata: {name: nightly}
    spec:
      call_ids: [a1b2c3d4-0000-4000-8000-000000000001]
      attached_agents: [{eval_agent_id: 11111111-aaaa-4bbb-8ccc-000000000001}]
    """


@pytest.fixture
def project(tmp_path, start_emulator, clock) -> Project:
    project = Project(root=tmp_path, url=start_emulator(seed=11, clock=clock))
    project.configure()
    project.write("bland", BLAND_DOC)
    project.write("adaline", adaline_doc())
    project.write("arize", arize_doc())
    return project


def adaline_runs(project: Project, key: str = KEYS["ADALINE_API_KEY"]) -> list[dict]:
    headers = {"authorization": f"Bearer {key}"}
    url = f"{project.url}/v2/prompts/{PROMPT}/evaluations"
    return httpx.get(url, params={"limit": 200}, headers=headers).json()["evaluations"]


def arize_runs(project: Project) -> list[dict]:
    headers = {"authorization": f"Bearer {KEYS['ARIZE_API_KEY']}"}
    url = f"{project.url}/v2/tasks/{TASK}/runs"
    return httpx.get(url, params={"limit": 100}, headers=headers).json()["task_runs"]


def actions(document: dict) -> dict[str, tuple[str, str]]:
    return {c["subject"]: (c["action"], c["reason"]) for c in document["changes"]}


class TestConverge:
    def test_one_apply_creates_a_run_at_every_vendor_and_the_next_plan_is_empty(self, project):
        """Three vendors, three creates; then nothing to do, with exit 0 and no changes."""
        first = project.run("apply", "--auto-approve")
        assert 0 == first.exit_code, first.stderr
        assert "Apply complete: 3 created, 0 cancelled, 0 replaced." in first.stdout
        assert 1 == len(adaline_runs(project)) == len(arize_runs(project))
        again = project.run("plan", "--detailed-exitcode")
        assert 0 == again.exit_code, again.stdout + again.stderr

    def test_each_line_says_which_identity_it_rests_on(self, project):
        """After apply: Bland by labels, Adaline and Arize by natural key."""
        project.run("apply", "--auto-approve")
        identities = {c["subject"]: c["identity"] for c in project.plan_json()["changes"]}
        assert {
            "AdalineEvaluation/accuracy": "natural_key",
            "ArizeTaskRun/week-45": "natural_key",
            "BlandEvalRun/nightly": "labels",
        } == identities
        text = project.run("plan", "-v").stdout
        assert "matched by natural key; Adaline runs carry no labels" in text

    def test_the_markdown_plan_is_a_pull_request_comment(self, project):
        """`plan --format markdown` prints the marker, the summary and one block per vendor."""
        result = project.run("plan", "--format", "markdown")
        assert 0 == result.exit_code, result.stderr
        lines = result.stdout.splitlines()
        assert "<!-- reconciler:mixed -->" == lines[0]
        assert "**Plan: 3 to create, 0 to cancel, 0 to replace.**" in lines
        assert 3 == result.stdout.count("<details>")


class TestNaturalKeys:
    def test_a_colleagues_adaline_run_with_the_key_satisfies_the_resource(self, project):
        """A run started by hand (another key) with the same key means no create."""
        body = {"evaluatorId": EVALUATOR, "datasetId": DATASET}
        headers = {"authorization": f"Bearer {KEYS['ADALINE_API_KEY']}"}
        url = f"{project.url}/v2/prompts/{PROMPT}/evaluations"
        assert 202 == httpx.post(url, json=body, headers=headers).status_code
        assert ("no-op", "matched") == actions(project.plan_json())["AdalineEvaluation/accuracy"]

    def test_a_removed_adaline_document_leaves_its_run_alone(self, project):
        """Adaline runs cannot be proven ours: no prune, the plan is empty."""
        project.run("apply", "--auto-approve")
        project.remove("adaline")
        document = project.plan_json()
        assert not [c for c in document["changes"] if c["vendor"] == "adaline"]
        assert 1 == len(adaline_runs(project))
        assert all(r["status"] not in ("cancelling", "cancelled") for r in adaline_runs(project))

    def test_a_changed_adaline_key_creates_and_keeps_the_old_run(self, project):
        """A new evaluator is a new key: create; the old key's run is left running."""
        project.run("apply", "--auto-approve")
        project.write("adaline", adaline_doc(evaluator=OTHER_EVALUATOR, dataset=OTHER_DATASET))
        assert ("create", "missing") == actions(project.plan_json())["AdalineEvaluation/accuracy"]
        project.run("apply", "--auto-approve")
        statuses = [r["status"] for r in adaline_runs(project)]
        assert 2 == len(statuses)
        assert not {"cancelling", "cancelled"} & set(statuses)

    def test_an_owned_arize_run_no_longer_declared_is_pruned(self, project):
        """With owner_user_id, a run this key triggered and nobody declares is cancelled."""
        project.run("apply", "--auto-approve")
        project.write("arize", arize_doc(name="week-46", start="2026-11-09", end="2026-11-16"))
        document = project.plan_json()
        by_action = sorted((c["action"], c["subject"]) for c in document["changes"])
        assert (
            "cancel",
            f"task_id={TASK}, data_start_time=2026-11-02T00:00:00.000Z, "
            "data_end_time=2026-11-09T00:00:00.000Z",
        ) in by_action
        assert ("create", "ArizeTaskRun/week-46") in by_action

    def test_without_an_owner_arize_runs_are_never_cancelled(self, project):
        """No owner_user_id: Arize runs are matched only, a removed window is left alone."""
        project.run("apply", "--auto-approve")
        project.owner, project.task_ids = None, (TASK,)  # listed for prune, but not ours
        project.configure()
        project.remove("arize")
        document = project.plan_json()
        assert not [c for c in document["changes"] if c["vendor"] == "arize"]
        (arize,) = [c for c in document["counts"] if c["vendor"] == "arize"]
        assert (0, 1) == (arize["managed"], arize["unmanaged"])

    def test_another_users_arize_run_is_foreign_and_left_alone(self, project):
        """A run triggered with another key counts as foreign; a declared key it matches."""
        headers = {"authorization": "Bearer someone-else"}
        body = {
            "data_start_time": "2026-10-01T00:00:00Z",
            "data_end_time": "2026-10-02T00:00:00Z",
        }
        url = f"{project.url}/v2/tasks/{TASK}/trigger"
        assert 201 == httpx.post(url, json=body, headers=headers).status_code
        document = project.plan_json()
        (arize,) = [c for c in document["counts"] if c["vendor"] == "arize"]
        assert 1 == arize["foreign"]
        assert not [c for c in document["changes"] if c["action"] == "cancel"]


class TestFailures:
    def test_an_unknown_prompt_aborts_the_plan_naming_it(self, project):
        """A listing that fails is never read as 'nothing exists' (rule 9)."""
        project.write("adaline", adaline_doc().replace(PROMPT, "prompt_does_not_exist_0099"))
        result = project.run("plan")
        assert 1 == result.exit_code
        assert "prompt_does_not_exist_0099" in result.stderr
        assert "Traceback" not in result.stderr

    def test_a_window_on_an_experiment_task_is_a_manifest_error_before_any_trigger(self, project):
        """The task's type decides the body: the plan says which line to fix, exit 1."""
        experiment_task = "T25saW5lVGFzazo0OnNlZWQ="
        project.write("arize", arize_doc().replace(TASK, experiment_task))
        result = project.run("apply", "--auto-approve")
        assert 1 == result.exit_code
        assert "evals/arize.yaml:1: spec.task_id: task " in result.stderr
        assert "RUN_EXPERIMENT task: it takes experiment_name" in result.stderr
        assert [] == adaline_runs(project)

    def test_no_key_appears_in_any_output(self, project, tmp_path):
        """The three keys stay out of stdout, stderr and the plan file, even with --debug."""
        plan_file = tmp_path / "plan.json"
        outputs = [
            project.run("--debug", "plan", "-out", str(plan_file)),
            project.run("--debug", "apply", "--auto-approve"),
        ]
        for result in outputs:
            for key in KEYS.values():
                assert key not in result.stdout + result.stderr
        for key in KEYS.values():
            assert key not in plan_file.read_text()
