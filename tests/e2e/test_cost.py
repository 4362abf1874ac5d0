"""`safety.max_cost_usd` through the CLI: apply refused above it, `--allow-cost` lets it through."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_bland import Project, runs_at_vendor


@pytest.fixture
def project(tmp_path, start_emulator, clock) -> Project:
    url = start_emulator(seed=7, clock=clock)
    project = Project(root=tmp_path, base_url=url)
    project.configure()
    config = project.root / "reconciler.yaml"
    config.write_text(config.read_text() + "  max_cost_usd: 0.0001\n")
    project.declare("checkout-nightly")
    return project


def test_plan_shows_the_cost_and_the_refusal_but_exits_0(project):
    result = project.run("plan")
    assert result.exit_code == 0, result.stderr
    assert "~$" in result.stdout
    assert "Estimated cost: $" in result.stdout
    assert "Refused: the estimated cost" in result.stdout
    document = project.plan_json()
    assert document["cost"]["total_usd"] > 0.0001
    assert 0 == document["cost"]["unknown"]
    assert "safety.max_cost_usd" in document["cost"]["refusal"]
    assert 2 == project.run("plan", "--detailed-exitcode").exit_code


def test_apply_above_max_cost_is_refused_and_creates_nothing(project):
    result = project.run("apply", "--auto-approve")
    assert result.exit_code == 1
    assert "exceeds safety.max_cost_usd" in result.stderr
    assert "--allow-cost" in result.stderr
    assert [] == runs_at_vendor(project.base_url)


def test_allow_cost_lets_the_apply_through(project):
    result = project.run("apply", "--auto-approve", "--allow-cost")
    assert result.exit_code == 0, result.stderr
    assert "Apply complete: 1 created, 0 cancelled, 0 replaced." in result.stdout
    assert "applying anyway (--allow-cost)" in result.stdout
    assert 1 == len(runs_at_vendor(project.base_url))


def test_a_saved_plan_is_refused_too_unless_allowed(project):
    saved = project.root / "plan.json"
    assert 0 == project.run("plan", "-out", str(saved)).exit_code
    assert json.loads(saved.read_text())["cost"]["refusal"]
    assert 1 == project.run("apply", str(saved)).exit_code
    assert [] == runs_at_vendor(project.base_url)
    assert 0 == project.run("apply", str(saved), "--allow-cost").exit_code
    assert 1 == len(runs_at_vendor(project.base_url))
