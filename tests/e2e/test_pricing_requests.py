"""Pricing never doubles an apply: estimates asked only when someone reads them, once per body.

Counted from the `--debug` log, as a user would see the requests: one line per attempt.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_bland import Project, runs_at_vendor

ESTIMATES = "/v1/evals/runs/estimates"


def estimate_requests(log: str) -> int:
    """Count the estimate requests the `--debug` log shows."""
    return sum(
        1 for line in log.splitlines() if line.startswith("http method=POST") and ESTIMATES in line
    )


@pytest.fixture
def project(tmp_path, start_emulator, clock) -> Project:
    project = Project(root=tmp_path, base_url=start_emulator(seed=7, clock=clock))
    project.configure()
    project.declare("checkout-nightly", calls=2)
    project.declare("refunds-nightly", calls=3)
    return project


def test_plan_asks_one_estimate_per_distinct_create_body(project):
    """Two creates with the same spec and one with another: two estimates, all three priced."""
    project.declare("checkout-weekly", calls=2)  # the same body as checkout-nightly
    result = project.run("--debug", "plan")
    assert result.exit_code == 0, result.stderr
    assert 2 == estimate_requests(result.stderr)
    assert "Estimated cost: $" in result.stdout
    assert "(0 unknown)" in result.stdout


def test_plan_no_cost_asks_no_estimate_and_says_so(project):
    result = project.run("--debug", "plan", "--no-cost")
    assert result.exit_code == 0, result.stderr
    assert 0 == estimate_requests(result.stderr)
    assert "Costs not estimated: --no-cost." in result.stdout


def test_apply_of_a_saved_plan_uses_its_prices_and_asks_no_estimate(project):
    saved = project.root / "plan.json"
    planned = project.run("plan", "-out", str(saved))
    assert planned.exit_code == 0, planned.stderr
    cost_line = next(line for line in planned.stdout.splitlines() if "Estimated cost" in line)
    result = project.run("--debug", "apply", str(saved))
    assert result.exit_code == 0, result.stderr
    assert 0 == estimate_requests(result.stderr)
    assert cost_line in result.stdout  # the reviewer's figures, not unknowns
    assert 2 == len(runs_at_vendor(project.base_url))


def test_apply_without_a_saved_plan_or_a_budget_asks_no_estimate(project):
    result = project.run("--debug", "apply", "--auto-approve")
    assert result.exit_code == 0, result.stderr
    assert 0 == estimate_requests(result.stderr)
    assert "Costs not estimated: no safety.max_cost_usd to check them against." in result.stdout
    assert 2 == len(runs_at_vendor(project.base_url))


def test_apply_without_a_saved_plan_prices_when_a_budget_needs_the_total(project):
    """With safety.max_cost_usd the total is needed: priced, each distinct body once."""
    project.declare("checkout-weekly", calls=2)  # the same body as checkout-nightly
    config = project.root / "reconciler.yaml"
    config.write_text(config.read_text() + "  max_cost_usd: 0.0001\n")
    result = project.run("--debug", "apply", "--auto-approve")
    assert result.exit_code == 1
    assert 2 == estimate_requests(result.stderr)
    assert "exceeds safety.max_cost_usd" in result.stderr
    assert [] == runs_at_vendor(project.base_url)


def test_a_saved_plan_made_with_no_cost_is_still_held_to_the_budget(project):
    """`plan --no-cost -out` then `apply FILE` under max_cost_usd: priced then, and refused."""
    config = project.root / "reconciler.yaml"
    config.write_text(config.read_text() + "  max_cost_usd: 0.0001\n")
    saved = project.root / "plan.json"
    assert 0 == project.run("plan", "--no-cost", "-out", str(saved)).exit_code
    result = project.run("--debug", "apply", str(saved))
    assert result.exit_code == 1
    assert 2 == estimate_requests(result.stderr)
    assert "exceeds safety.max_cost_usd" in result.stderr
    assert [] == runs_at_vendor(project.base_url)
