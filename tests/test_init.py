"""`reconciler init`: a newcomer's first minutes, from an empty directory to a plan."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import ExitCode, cli

BIN = Path(sys.executable).parent
MODELINE = re.compile(r"# yaml-language-server: \$schema=(?P<path>\S+)\n")
MANIFESTS = ("evals/bland.yaml", "evals/adaline.yaml", "evals/arize.yaml")
WORKFLOWS = (".github/workflows/reconciler-plan.yml", ".github/workflows/reconciler-apply.yml")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def project(runner, tmp_path) -> Path:
    """A project made by `reconciler init DIR` in a directory that did not exist."""
    directory = tmp_path / "support-evals"
    result = runner.invoke(cli, ["init", str(directory)])
    assert ExitCode.OK == result.exit_code, result.stderr
    return directory


def test_init_then_validate_then_plan_work_at_once_against_the_embedded_emulator(runner, project):
    validate = runner.invoke(cli, ["-C", str(project), "validate"])
    assert ExitCode.OK == validate.exit_code, validate.stderr
    assert (
        "Valid: 3 resource(s) in 3 file(s) (adaline: 1, arize: 1, bland: 1); "
        "workspace support-evals.\n"
    ) == validate.stdout
    plan = runner.invoke(cli, ["-C", str(project), "plan", "--detailed-exitcode"])
    assert ExitCode.CHANGES == plan.exit_code, plan.stderr
    assert "Plan: 3 to create, 0 to cancel, 0 to replace." in plan.stdout
    for address in (
        "AdalineEvaluation/checkout-accuracy",
        "ArizeTaskRun/hallucination-weekly",
        "BlandEvalRun/support-smoke",
    ):
        assert f"+ create {address}" in plan.stdout


def test_a_new_project_applies_and_passes_every_gate_against_the_embedded_emulator(project):
    """The scaffold's thresholds hold for the emulator's first runs: a newcomer sees green."""
    runner = CliRunner(env={"RECONCILER_EMULATOR_TIME_SCALE": "1000000"})
    result = runner.invoke(cli, ["-C", str(project), "apply", "--auto-approve", "--wait"])
    assert ExitCode.OK == result.exit_code, result.stdout + result.stderr
    assert "Apply complete: 3 created, 0 cancelled, 0 replaced." in result.stdout
    assert "Status: 3 resource(s): 3 passed." in result.stdout


def test_init_lists_what_it_wrote_and_what_to_run_next(runner, tmp_path):
    result = runner.invoke(cli, ["-C", str(tmp_path), "init", "my-evals"])
    assert ExitCode.OK == result.exit_code, result.stderr
    lines = result.stdout.splitlines()
    assert f"Created 13 file(s) in {tmp_path / 'my-evals'} (workspace my-evals):" == lines[0]
    assert "  reconciler.yaml" in lines
    assert "  .github/workflows/reconciler-apply.yml" in lines
    assert lines[-1].startswith(f"Next: reconciler -C {tmp_path / 'my-evals'} validate, then")


def test_init_without_a_directory_scaffolds_the_current_one(runner, tmp_path):
    """`init` alone writes into the current directory (here -C DIR, as Terraform's -chdir)."""
    result = runner.invoke(cli, ["-C", str(tmp_path), "init"])
    assert ExitCode.OK == result.exit_code, result.stderr
    assert (tmp_path / "reconciler.yaml").is_file()
    assert all((tmp_path / m).is_file() for m in MANIFESTS)


def test_init_points_every_vendor_at_the_emulator_with_the_real_key_lines_commented(project):
    text = (project / "reconciler.yaml").read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    assert "support-evals" == config["workspace"]
    assert {"bland", "adaline", "arize"} == set(config["providers"])
    for vendor, settings in config["providers"].items():
        assert "emulator" == settings["base_url"], vendor
        assert "api_key" not in settings, vendor
        assert f'    # api_key: "${{{vendor.upper()}_API_KEY}}"\n' in text


def test_every_file_has_a_relative_modeline_to_an_exported_schema_that_accepts_it(project):
    """The editor modeline works offline, for a user who installed from the package index."""
    for name in ("reconciler.yaml", *MANIFESTS):
        path = project / name
        text = path.read_text(encoding="utf-8")
        match = MODELINE.match(text)
        assert match, f"{name} does not start with the yaml-language-server modeline"
        target = match["path"]
        assert not target.startswith(("http:", "https:", "/")), target
        schema_path = (path.parent / target).resolve()
        assert schema_path.is_relative_to(project.resolve()), target
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        jsonschema.validate(yaml.safe_load(text), schema)


def test_init_manifests_use_ids_from_the_emulators_seed_catalogue(project):
    kinds = {yaml.safe_load((project / m).read_text(encoding="utf-8"))["kind"] for m in MANIFESTS}
    assert {"BlandEvalRun", "AdalineEvaluation", "ArizeTaskRun"} == kinds


def test_init_workflows_plan_on_pull_requests_and_apply_on_main_one_at_a_time(project):
    plan = yaml.safe_load((project / WORKFLOWS[0]).read_text(encoding="utf-8"))
    apply = yaml.safe_load((project / WORKFLOWS[1]).read_text(encoding="utf-8"))
    # PyYAML reads the key `on` as True.
    assert "pull_request" in plan[True]
    (plan_step,) = [s for s in plan["jobs"]["plan"]["steps"] if s.get("name") == "reconciler plan"]
    assert {"command": "plan", "comment": "on-pr"} == plan_step["with"]
    assert "pull-requests" in plan["permissions"]
    assert ["main"] == apply[True]["push"]["branches"]
    assert {"group": "reconciler-apply", "cancel-in-progress": False} == apply["concurrency"]


def test_init_workflows_pass_actionlint(project):
    result = subprocess.run(
        [str(BIN / "actionlint"), "-no-color", "-shellcheck", str(BIN / "shellcheck"), *WORKFLOWS],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert 0 == result.returncode, result.stdout + result.stderr


def test_init_keeps_the_emulator_state_out_of_version_control(project):
    assert "*" in (project / ".reconciler" / ".gitignore").read_text(encoding="utf-8").split()


def test_init_never_overwrites_a_file_it_lists_what_exists_and_writes_nothing(runner, tmp_path):
    (tmp_path / "evals").mkdir()
    (tmp_path / "reconciler.yaml").write_text("workspace: mine\n", encoding="utf-8")
    (tmp_path / "evals" / "bland.yaml").write_text("# mine\n", encoding="utf-8")
    result = runner.invoke(cli, ["init", str(tmp_path)])
    assert ExitCode.ERROR == result.exit_code
    assert [
        f"Error: init would overwrite 2 existing file(s) in {tmp_path}: reconciler.yaml, "
        "evals/bland.yaml. Move them away, pick an empty directory (`reconciler init DIR`), "
        "or pass --force to overwrite them"
    ] == result.stderr.splitlines()
    assert "workspace: mine\n" == (tmp_path / "reconciler.yaml").read_text(encoding="utf-8")
    assert ["evals", "evals/bland.yaml", "reconciler.yaml"] == sorted(
        str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
    )


def test_init_force_overwrites_existing_files(runner, tmp_path):
    (tmp_path / "reconciler.yaml").write_text("workspace: mine\n", encoding="utf-8")
    result = runner.invoke(cli, ["init", "--force", str(tmp_path)])
    assert ExitCode.OK == result.exit_code, result.stderr
    assert (
        (tmp_path / "reconciler.yaml")
        .read_text(encoding="utf-8")
        .startswith("# yaml-language-server: $schema=schemas/reconciler.schema.json\n")
    )


def test_init_that_fails_half_way_removes_what_it_created(runner, tmp_path):
    """A file where a directory must go stops init after some files: those are taken back."""
    (tmp_path / ".github").write_text("not a directory\n", encoding="utf-8")
    result = runner.invoke(cli, ["init", str(tmp_path)])
    assert ExitCode.ERROR == result.exit_code
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: cannot write {tmp_path / '.github' / 'workflows'}: ")
    assert line.endswith(
        "init created nothing; pick a directory you can write to, or move what is in the way"
    )
    assert [".github"] == [p.name for p in tmp_path.iterdir()]


def test_init_into_a_file_is_one_line_exit_1(runner, tmp_path):
    (tmp_path / "taken").write_text("x\n", encoding="utf-8")
    result = runner.invoke(cli, ["init", str(tmp_path / "taken")])
    assert ExitCode.ERROR == result.exit_code
    assert [
        f"Error: {tmp_path / 'taken'} is not a directory. Pass a directory to init"
    ] == result.stderr.splitlines()


@pytest.mark.parametrize(
    ("name", "workspace"),
    [("support-evals", "support-evals"), ("My Evals_2026", "my-evals-2026"), ("__", "evals")],
    ids=["kept", "made-valid", "fallback"],
)
def test_init_derives_a_valid_workspace_from_the_directory_name(runner, tmp_path, name, workspace):
    result = runner.invoke(cli, ["init", str(tmp_path / name)])
    assert ExitCode.OK == result.exit_code, result.stderr
    validate = runner.invoke(cli, ["-C", str(tmp_path / name), "validate"])
    assert ExitCode.OK == validate.exit_code, validate.stderr
    assert validate.stdout.endswith(f"workspace {workspace}.\n")
