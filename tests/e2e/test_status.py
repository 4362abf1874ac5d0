"""`reconciler status` as CI runs it: wait, judge the thresholds, exit 0/1/3/4, write reports."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest

from tests.e2e.test_bland import Project

ROOT = Path(__file__).resolve().parents[2]
STATUS_SCHEMA = json.loads((ROOT / "schemas" / "status.schema.json").read_text())
PASSING = "thresholds:\n  - {metric: cost_usd, max: 1000}\n  - {metric: score_mean, min: 0}\n"
FAILING = "thresholds:\n  - {path: summary.overall_score_mean, min: 1000}\n"


@pytest.fixture
def project(tmp_path, start_emulator, clock) -> Project:
    project = Project(root=tmp_path, base_url=start_emulator(seed=7, clock=clock))
    project.configure()
    project.declare("nightly", extra=PASSING)
    return project


def test_before_any_apply_status_is_an_error_that_says_to_apply(project):
    """No run yet: exit 1 and the way out."""
    result = project.run("status")
    assert 1 == result.exit_code
    assert "reconciler apply" in result.stdout


def test_active_runs_at_the_timeout_exit_4(project):
    """Just applied, the run is still going: exit 4, the progress line on stderr."""
    project.run("apply", "--auto-approve")
    result = project.run("status", "--timeout", "0")
    assert 4 == result.exit_code, result.stdout
    assert "status: 0/1 run(s) finished, 0/2 item(s) scored" in result.stderr


def test_finished_runs_that_clear_their_gates_exit_0(project, clock, tmp_path):
    """A day later every run has finished; the gates pass; JSON and JUnit reports agree."""
    project.run("apply", "--auto-approve")
    clock.advance(24 * 3600)
    junit = tmp_path / "report.xml"
    result = project.run("status", "--format", "json", "-o", f"junit:{junit}")
    assert 0 == result.exit_code, result.stdout
    document = json.loads(result.stdout)
    jsonschema.validate(document, STATUS_SCHEMA)
    assert {"passed": 1, "failed": 0, "error": 0, "running": 0} == document["counts"]
    (nightly,) = document["resources"]
    assert nightly["cost_usd"] > 0  # what the run cost, beside what it was estimated to
    assert nightly["estimate_usd"] > 0
    root = ElementTree.parse(junit).getroot()
    assert ("2", "0", "0") == tuple(root.get(k) for k in ("tests", "failures", "errors"))


def test_a_missed_threshold_exits_3_and_says_by_how_much(project, clock):
    """The gate's value and bound are in the table."""
    project.declare("nightly", extra=FAILING)
    project.run("apply", "--auto-approve")
    clock.advance(24 * 3600)
    result = project.run("status")
    assert 3 == result.exit_code, result.stdout
    assert "FAIL  summary.overall_score_mean >= 1000" in result.stdout
    assert "is below 1000" in result.stdout


def test_a_bad_output_spec_is_a_usage_error(project):
    """-o needs FORMAT:FILE; a usage error is exit 1 with the fix."""
    result = project.run("status", "-o", "report.xml")
    assert 1 == result.exit_code
    assert "FORMAT:FILE" in result.stderr


def test_apply_wait_gates_like_status(project, clock):
    """apply --wait: runs just created are still active at a zero timeout (4); later, 0."""
    first = project.run("apply", "--auto-approve", "--wait", "--timeout", "0")
    assert 4 == first.exit_code, first.stdout
    assert "Apply complete: 1 created" in first.stdout
    assert "Status: 1 resource(s): 1 running." in first.stdout  # --timeout 0 waited for nothing
    clock.advance(24 * 3600)
    again = project.run("apply", "--auto-approve", "--wait")
    assert 0 == again.exit_code, again.stdout
    assert "Nothing to do." in again.stdout
    assert "Status: 1 resource(s): 1 passed." in again.stdout


def test_plan_and_status_share_one_pull_request_comment(project, clock, tmp_path):
    """status --plan FILE --format markdown: one marker, the plan, then how the runs score."""
    project.run("apply", "--auto-approve")
    clock.advance(24 * 3600)
    project.declare("weekly", extra=PASSING)
    plan_file = tmp_path / "plan.json"
    assert 0 == project.run("plan", "-out", str(plan_file)).exit_code
    result = project.run("status", "--plan", str(plan_file), "--format", "markdown")
    assert 1 == result.exit_code  # `weekly` has no run yet: an error until it is applied
    assert 1 == result.stdout.count("<!-- reconciler:support-evals -->")
    plan_at = result.stdout.index("**Plan: 1 to create, 0 to cancel, 0 to replace.**")
    assert plan_at < result.stdout.index("### reconciler status for `support-evals`")
    assert len(result.stdout) <= 65_536


@pytest.mark.parametrize(
    ("seed", "vendor_status", "exit_code", "words"),
    [
        (1, "PARTIAL", 0, "PASSED   BlandEvalRun/nightly"),  # finished well, gates judged
        (15, "FAILED", 3, "its last run failed or was cancelled"),
    ],
    ids=["partial-run-is-judged", "failed-run-fails-the-gate"],
)
def test_runs_that_finish_partial_or_fail_outright(
    tmp_path, start_emulator, clock, seed, vendor_status, exit_code, words
):
    """The emulator's seeded fates: seed 1's first run ends PARTIAL, seed 15's FAILED."""
    project = Project(root=tmp_path, base_url=start_emulator(seed=seed, clock=clock))
    project.configure()
    project.declare("nightly", extra=PASSING)
    project.run("apply", "--auto-approve")
    clock.advance(24 * 3600)
    result = project.run("status")
    assert exit_code == result.exit_code, result.stdout
    assert words in result.stdout
    if vendor_status == "PARTIAL":
        assert "PARTIAL" in result.stdout
