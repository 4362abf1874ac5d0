"""Saved plans (`plan -out`, `apply FILE`): a file never widens what apply may do (#10)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from tests.e2e.test_bland import API_KEY, Project, runs_at_vendor


@pytest.fixture
def project(tmp_path, start_emulator, clock) -> Project:
    project = Project(root=tmp_path / "repo", base_url=start_emulator(seed=7, clock=clock))
    project.root.mkdir()
    project.configure()
    project.declare("checkout-nightly")
    project.declare("refunds-weekly", calls=3)
    return project


ACTIVE = frozenset({"PENDING", "QUEUED", "RUNNING"})


def active(base_url: str) -> int:
    return sum(1 for r in runs_at_vendor(base_url) if r["status"] in ACTIVE)


@pytest.fixture
def refused(project, tmp_path):
    """Two runs applied, then both documents replaced: the guard (max 1 cancel) refuses."""
    project.configure(max_cancellations=1)
    assert project.run("apply", "--auto-approve").exit_code == 0
    project.declare("other")
    project.remove("checkout-nightly")
    project.remove("refunds-weekly")
    plan_file = tmp_path / "plan.json"
    result = project.run("plan", "-out", str(plan_file))
    assert 1 == result.exit_code
    return plan_file, result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "edit",
    [
        {"options": {"allow_mass_cancel": True}},
        {"options": {"allow_mass_cancel": True}, "refusal": None},
    ],
    ids=["allow-flag-edited", "allow-flag-and-refusal-edited"],
)
def test_an_edited_plan_file_cannot_allow_a_mass_cancel(project, refused, edit):
    """The safety options come from apply's command line, never from the file."""
    plan_file, _ = refused
    document = json.loads(plan_file.read_text())
    for key, value in edit.items():
        if isinstance(value, dict):
            document[key].update(value)
        else:
            document[key] = value
    plan_file.write_text(json.dumps(document))

    result = project.run("apply", str(plan_file))

    assert 1 == result.exit_code
    assert "--allow-mass-cancel" in result.stderr
    assert 2 == active(project.base_url)  # nothing was cancelled, nothing created
    assert 2 == len(runs_at_vendor(project.base_url))


def test_a_refused_plan_is_saved_with_its_refusal_and_apply_repeats_it(project, refused):
    plan_file, plan_error = refused
    assert plan_error.startswith("Error: the plan cancels 2 runs")
    assert json.loads(plan_file.read_text())["refusal"] in plan_error

    result = project.run("apply", str(plan_file))

    assert 1 == result.exit_code
    assert [plan_error] == result.stderr.strip().splitlines()
    assert 2 == active(project.base_url)


def test_a_refused_plan_applies_when_apply_itself_allows_the_mass_cancel(project, refused):
    plan_file, _ = refused
    result = project.run("apply", "--allow-mass-cancel", str(plan_file))
    assert 0 == result.exit_code, result.stderr
    assert "Apply complete: 1 created, 2 cancelled, 0 replaced." in result.stdout
    assert 1 == active(project.base_url)


def test_the_saved_plan_hint_is_a_command_that_works_as_printed(project):
    """With a relative -C, -out lands in DIR and the hint copies and pastes (as -chdir)."""
    cwd = project.root.parent
    env = {**os.environ, "BLAND_API_KEY": API_KEY}

    def reconciler(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "reconciler.cli", *args]
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)

    planned = reconciler("-C", "repo", "plan", "-out", "plan.json")
    assert 0 == planned.returncode, planned.stderr
    assert (project.root / "plan.json").is_file()
    assert not (cwd / "plan.json").exists()
    hint = planned.stderr.strip().splitlines()[-1]
    assert (
        "Saved the plan to plan.json; apply it with `reconciler -C repo apply plan.json`." == hint
    )

    command = shlex.split(hint.split("`")[1])
    applied = reconciler(*command[1:])

    assert 0 == applied.returncode, applied.stderr
    assert 2 == len(runs_at_vendor(project.base_url))


def test_relative_plan_paths_are_relative_to_the_project_directory(project):
    """`-C DIR apply plan.json` and `status --plan plan.json` read DIR/plan.json."""
    assert 0 == project.run("plan", "-out", "plan.json").exit_code
    assert (project.root / "plan.json").is_file()
    result = project.run("apply", "plan.json")
    assert 0 == result.exit_code, result.stderr
    assert 2 == len(runs_at_vendor(project.base_url))
