"""The CI integration files, checked by the real linters of those systems.

actionlint (with shellcheck) lints the GitHub workflow examples and, through a workflow that
uses it as `./`, the action's metadata; check-jsonschema validates every file against the
schemas it bundles (SchemaStore's GitHub and GitLab schemas). The linters come from the dev
extra and are looked up next to sys.executable, so these tests run the same in .ci/run's venv.
The action's main step is also run with bash against a fake `reconciler`, to prove that it
passes reconciler's exit code on instead of swallowing it.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ACTION = ROOT / "action.yml"
GITHUB_DIR = ROOT / "examples" / "ci" / "github"
WORKFLOWS = sorted(GITHUB_DIR.glob("*.yml"))
GITLAB_CI = ROOT / "examples" / "ci" / "gitlab" / ".gitlab-ci.yml"
PRE_COMMIT_HOOKS = ROOT / ".pre-commit-hooks.yaml"


def _tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} is not in {BIN}: pip install -e '.[dev]'"
    return str(path)


def _run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


def _action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return loaded


def _main_step() -> dict[str, Any]:
    steps: list[dict[str, Any]] = _action()["runs"]["steps"]
    (step,) = [s for s in steps if s.get("id") == "reconciler"]
    return step


def test_the_three_workflow_examples_exist() -> None:
    assert ["apply-on-main.yml", "nightly-drift.yml", "plan-on-pr.yml"] == [
        w.name for w in WORKFLOWS
    ]


# --- actionlint -----------------------------------------------------------------------------


def _actionlint(*files: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return _run(
        _tool("actionlint"), "-no-color", "-shellcheck", _tool("shellcheck"), *files, cwd=cwd
    )


def test_actionlint_passes_the_workflow_examples() -> None:
    result = _actionlint(*(str(w) for w in WORKFLOWS))
    assert 0 == result.returncode, result.stdout + result.stderr


def _local_action_project(tmp_path: Path, with_inputs: dict[str, str]) -> Path:
    """A repository whose workflow uses this action as `./`: actionlint then reads action.yml."""
    (tmp_path / ".git").mkdir()
    shutil.copy(ACTION, tmp_path / "action.yml")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    inputs = "\n".join(f"          {k}: {v}" for k, v in with_inputs.items())
    outputs = "\n".join(
        f'      - run: echo "${{{{ steps.r.outputs.{o} }}}}"' for o in _action()["outputs"]
    )
    workflow = (
        "on: pull_request\n"
        "permissions:\n  pull-requests: write\n"
        "jobs:\n  use:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - uses: ./\n        id: r\n        with:\n"
        f"{inputs}\n{outputs}\n"
    )
    (workflows / "use.yml").write_text(workflow, encoding="utf-8")
    return tmp_path


def test_actionlint_accepts_the_action_metadata_and_every_input(tmp_path: Path) -> None:
    inputs = {name: "x" for name in _action()["inputs"]}
    project = _local_action_project(tmp_path, inputs)
    result = _actionlint(cwd=project)
    assert 0 == result.returncode, result.stdout + result.stderr


def test_actionlint_really_reads_the_action_metadata(tmp_path: Path) -> None:
    project = _local_action_project(tmp_path, {"command": "plan", "no-such-input": "x"})
    result = _actionlint(cwd=project)
    assert 1 == result.returncode
    assert 'input "no-such-input" is not defined in action "reconciler"' in result.stdout


@pytest.mark.parametrize("step", [s for s in _action()["runs"]["steps"] if "run" in s])
def test_the_action_scripts_pass_shellcheck(step: dict[str, Any], tmp_path: Path) -> None:
    script = tmp_path / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    result = _run(_tool("shellcheck"), "--shell=bash", str(script))
    assert 0 == result.returncode, result.stdout + result.stderr


def test_the_gitlab_scripts_pass_shellcheck(tmp_path: Path) -> None:
    pipeline = yaml.safe_load(GITLAB_CI.read_text(encoding="utf-8"))
    before = pipeline["default"]["before_script"]
    for job in ("plan", "apply", "drift"):
        script = tmp_path / f"{job}.sh"
        script.write_text("\n".join([*before, *pipeline[job]["script"]]) + "\n", encoding="utf-8")
        result = _run(_tool("shellcheck"), "--shell=bash", str(script))
        assert 0 == result.returncode, f"{job}: {result.stdout}{result.stderr}"


def test_applies_are_serialised_by_the_ci_systems_own_tool() -> None:
    """One apply at a time, never one cancelled halfway: concurrency (GitHub), resource_group."""
    github = yaml.safe_load((GITHUB_DIR / "apply-on-main.yml").read_text(encoding="utf-8"))
    assert {"group": "reconciler-apply", "cancel-in-progress": False} == github["concurrency"]
    gitlab = yaml.safe_load(GITLAB_CI.read_text(encoding="utf-8"))
    assert "reconciler-apply" == gitlab["apply"]["resource_group"]


# --- check-jsonschema -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-workflows", WORKFLOWS),
        ("vendor.github-actions", [ACTION]),
        ("vendor.gitlab-ci", [GITLAB_CI]),
    ],
    ids=["github-workflows", "github-actions", "gitlab-ci"],
)
def test_check_jsonschema_with_the_bundled_schema(schema: str, files: list[Path]) -> None:
    result = _run(_tool("check-jsonschema"), "--builtin-schema", schema, *(str(f) for f in files))
    assert 0 == result.returncode, result.stdout + result.stderr


def test_pre_commit_hook_manifest() -> None:
    # check-jsonschema bundles no schema for .pre-commit-hooks.yaml: check pre-commit's rules.
    hooks = yaml.safe_load(PRE_COMMIT_HOOKS.read_text(encoding="utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "reconciler-validate"]
    assert {"id", "name", "entry", "language"} <= hook.keys()
    assert "reconciler validate" == hook["entry"]
    assert "python" == hook["language"]
    assert hook["pass_filenames"] is False
    files = hook["files"]
    assert re.search(files, "evals/checkout.yaml")
    assert re.search(files, "reconciler.yml")
    assert not re.search(files, "reconciler/cli.py")


# --- the action's main step, run with bash ---------------------------------------------------

FAKE_RECONCILER = """\
#!/usr/bin/env bash
# A fake reconciler: logs its arguments, writes the files it is asked for (-o, -out), prints
# a plan, prints the status table where the real one does (status --format table, the
# default; apply --wait), and exits with $FAKE_EXIT_<command> (default 0).
echo "$*" >> "$FAKE_LOG"
previous=""
format=table
for arg in "$@"; do
  case "$arg" in
    junit:*) echo '<testsuites/>' > "${arg#junit:}" ;;
    markdown:*) echo '## reconciler status (fake)' > "${arg#markdown:}" ;;
  esac
  [ "$previous" = -out ] && echo '{"format_version": "fake"}' > "$arg"
  [ "$previous" = --format ] && format="$arg"
  [ "$1" = apply ] && [ "$arg" = --wait ] && echo 'STATUS TABLE (fake)'
  previous="$arg"
done
[ "$1" = plan ] && echo '## reconciler plan (fake)'
[ "$1" = status ] && [ "$format" = table ] && echo 'STATUS TABLE (fake)'
var="FAKE_EXIT_${1//-/_}"
exit "${!var:-0}"
"""


def _run_main_step(
    tmp_path: Path,
    *,
    command: str,
    event: str = "push",
    exits: dict[str, int],
    args: str = "--target bland.checkout",
) -> tuple[subprocess.CompletedProcess[str], list[str], dict[str, str], str]:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    fake = fake_bin / "reconciler"
    fake.write_text(FAKE_RECONCILER, encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "runner-temp").mkdir()
    script = tmp_path / "step.sh"
    script.write_text(_main_step()["run"], encoding="utf-8")
    env = {
        "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}",
        "FAKE_LOG": str(tmp_path / "calls.log"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "RECONCILER_COMMAND": command,
        "RECONCILER_ARGS": args,
        "RECONCILER_COMMENT": "on-pr",
        "RECONCILER_EVENT": event,
        "RECONCILER_REPO": "acme/evals",
        "RECONCILER_PR": "7" if event == "pull_request" else "",
        "GITHUB_TOKEN": "t0ken",
        **{f"FAKE_EXIT_{name}": str(code) for name, code in exits.items()},
    }
    # As GitHub runs a `shell: bash` step.
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    log = tmp_path / "calls.log"
    calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    outputs = dict(
        line.split("=", 1)
        for line in (tmp_path / "output").read_text(encoding="utf-8").splitlines()
    )
    summary_file = tmp_path / "summary.md"
    summary = summary_file.read_text(encoding="utf-8") if summary_file.exists() else ""
    return result, calls, outputs, summary


@pytest.mark.parametrize("command", ["plan", "apply", "status"])
def test_the_step_exits_with_reconcilers_exit_code(command: str, tmp_path: Path) -> None:
    result, calls, outputs, _ = _run_main_step(tmp_path, command=command, exits={command: 3})
    assert 3 == result.returncode, result.stdout + result.stderr
    assert "3" == outputs["exit-code"]
    assert calls[0].startswith(command)


def _scratch(tmp_path: Path) -> Path:
    """The one directory the step made under $RUNNER_TEMP."""
    (directory,) = (tmp_path / "runner-temp").iterdir()
    return directory


PLAN = "plan --format markdown -out {json} --detailed-exitcode --target bland.checkout"


def test_plan_on_a_pull_request_comments_and_summarises(tmp_path: Path) -> None:
    result, calls, outputs, summary = _run_main_step(
        tmp_path, command="plan", event="pull_request", exits={"plan": 3}
    )
    plan_md = _scratch(tmp_path) / "plan.md"
    plan_json = _scratch(tmp_path) / "plan.json"
    assert 3 == result.returncode, result.stdout + result.stderr
    assert [
        PLAN.format(json=plan_json),
        f"comment --repo acme/evals --pr 7 --file {plan_md}",
    ] == calls
    assert "## reconciler plan (fake)" in result.stdout
    assert "## reconciler plan (fake)\n" == summary
    assert {
        "exit-code": "3",
        "has-changes": "",
        "plan-json": str(plan_json),
        "junit-path": "",
        "markdown-path": str(plan_md),
    } == outputs


@pytest.mark.parametrize(
    ("plan_exit", "args", "step_exit", "has_changes"),
    [
        (0, "", 0, "false"),
        (2, "", 0, "true"),
        (0, "--detailed-exitcode", 0, "false"),
        (2, "--detailed-exitcode", 2, "true"),
        (1, "", 1, ""),
    ],
    ids=["no-changes", "changes", "detailed-no-changes", "detailed-changes", "error"],
)
def test_plan_says_whether_it_has_changes_and_exits_as_the_user_asked(
    plan_exit: int, args: str, step_exit: int, has_changes: str, tmp_path: Path
) -> None:
    result, calls, outputs, _ = _run_main_step(
        tmp_path, command="plan", exits={"plan": plan_exit}, args=args
    )
    plan_json = _scratch(tmp_path) / "plan.json"
    assert step_exit == result.returncode, result.stdout + result.stderr
    assert str(step_exit) == outputs["exit-code"]
    assert has_changes == outputs["has-changes"]
    assert str(plan_json) == outputs["plan-json"]
    assert plan_json.is_file()
    assert calls[0].startswith(f"plan --format markdown -out {plan_json} --detailed-exitcode")


def test_a_failed_comment_warns_and_keeps_the_plans_exit_code(tmp_path: Path) -> None:
    result, _, outputs, _ = _run_main_step(
        tmp_path, command="plan", event="pull_request", exits={"comment": 1}
    )
    assert 0 == result.returncode, result.stdout + result.stderr
    assert "::warning::" in result.stdout
    assert "0" == outputs["exit-code"]


def test_plan_off_a_pull_request_does_not_comment(tmp_path: Path) -> None:
    result, calls, _, _ = _run_main_step(tmp_path, command="plan", exits={})
    assert 0 == result.returncode
    assert [PLAN.format(json=_scratch(tmp_path) / "plan.json")] == calls


@pytest.mark.parametrize("command", ["plan", "apply", "status"])
def test_no_report_or_scratch_file_lands_in_the_checkout(command: str, tmp_path: Path) -> None:
    result, _, outputs, _ = _run_main_step(
        tmp_path, command=command, event="pull_request", exits={}
    )
    assert 0 == result.returncode, result.stdout + result.stderr
    assert [] == list((tmp_path / "work").iterdir())
    for name in ("plan-json", "junit-path", "markdown-path"):
        if outputs[name]:
            assert Path(outputs[name]).parent == _scratch(tmp_path)


@pytest.mark.parametrize("command", ["apply", "status"])
def test_the_status_table_is_printed_once(command: str, tmp_path: Path) -> None:
    result, _, _, _ = _run_main_step(tmp_path, command=command, exits={})
    assert 1 == result.stdout.count("STATUS TABLE (fake)"), result.stdout


def test_apply_writes_the_reports_even_when_it_fails(tmp_path: Path) -> None:
    result, calls, outputs, summary = _run_main_step(
        tmp_path, command="apply", exits={"apply": 1, "status": 4}
    )
    scratch = _scratch(tmp_path)
    assert 1 == result.returncode
    assert "apply --auto-approve --wait --target bland.checkout" == calls[0]
    assert calls[1].startswith("status ")
    assert {
        "exit-code": "1",
        "has-changes": "",
        "plan-json": "",
        "junit-path": str(scratch / "reconciler-junit.xml"),
        "markdown-path": str(scratch / "status.md"),
    } == outputs
    assert "## reconciler status (fake)\n" == summary


def test_after_a_good_apply_the_status_gate_decides(tmp_path: Path) -> None:
    result, _, outputs, _ = _run_main_step(tmp_path, command="apply", exits={"status": 4})
    assert 4 == result.returncode
    assert "4" == outputs["exit-code"]


def test_an_unknown_command_fails(tmp_path: Path) -> None:
    result, calls, _, _ = _run_main_step(tmp_path, command="destroy", exits={})
    assert 1 == result.returncode
    assert [] == calls
    assert "unknown command 'destroy'" in result.stdout


def test_the_action_defaults() -> None:
    inputs = _action()["inputs"]
    assert "plan" == inputs["command"]["default"]
    assert "on-pr" == inputs["comment"]["default"]
    assert "3.11" == inputs["python-version"]["default"]
    assert "." == inputs["working-directory"]["default"]
    commands = [
        line.strip()
        for line in _main_step()["run"].splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert "set +e" == commands[0]
    assert 'exit "$code"' == commands[-1]


def test_the_action_outputs_what_the_step_writes() -> None:
    outputs = _action()["outputs"]
    assert {"exit-code", "has-changes", "plan-json", "junit-path", "markdown-path"} == set(outputs)
    for name, output in outputs.items():
        assert f"${{{{ steps.reconciler.outputs.{name} }}}}" == output["value"]
        assert f'echo "{name}=' in _main_step()["run"]


# --- the action's install step, run with bash ------------------------------------------------

FAKE_PYTHON = """\
#!/usr/bin/env bash
echo "$*" >> "$FAKE_LOG"
exit "${FAKE_EXIT_pip:-0}"
"""


def _run_install_step(
    tmp_path: Path, *, version: str, version_exit: int = 0
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for name, text in (("python", FAKE_PYTHON), ("reconciler", FAKE_RECONCILER)):
        (fake_bin / name).write_text(text, encoding="utf-8")
        (fake_bin / name).chmod(0o755)
    steps: list[dict[str, Any]] = _action()["runs"]["steps"]
    (step,) = [s for s in steps if s.get("name") == "Install reconciler"]
    script = tmp_path / "install.sh"
    script.write_text(step["run"], encoding="utf-8")
    env = {
        "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}",
        "FAKE_LOG": str(tmp_path / "calls.log"),
        "FAKE_EXIT___version": str(version_exit),
        "GITHUB_ACTION_PATH": "/runner/_actions/reconciler-dev/reconciler/v0",
        "RECONCILER_VERSION": version,
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return result, (tmp_path / "calls.log").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(
    ("version", "requirement"),
    [
        ("", "/runner/_actions/reconciler-dev/reconciler/v0"),
        ("0.2.0", "eval-reconciler==0.2.0"),
        ("v0.2.0", "eval-reconciler==0.2.0"),
    ],
    ids=["default-own-checkout", "version", "version-as-tag"],
)
def test_the_action_installs_its_checkout_or_the_named_eval_reconciler_release(
    version: str, requirement: str, tmp_path: Path
) -> None:
    result, calls = _run_install_step(tmp_path, version=version)
    assert 0 == result.returncode, result.stdout + result.stderr
    assert [
        f"-m pip install --disable-pip-version-check --quiet {requirement}",
        "--version",
    ] == calls


def test_an_install_without_a_working_command_fails_the_step(tmp_path: Path) -> None:
    """Not later, in the step that runs it, as `command not found`."""
    result, calls = _run_install_step(tmp_path, version="", version_exit=1)
    assert 1 == result.returncode
    assert "--version" == calls[-1]
