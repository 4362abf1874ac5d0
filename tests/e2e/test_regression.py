"""Regression gates through the CLI against the emulator: the previous run is the baseline."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest

from tests.e2e.test_bland import Project

ROOT = Path(__file__).resolve().parents[2]
STATUS_SCHEMA = json.loads((ROOT / "schemas" / "status.schema.json").read_text())
LOOSE = "thresholds:\n  - {metric: pass_rate_pct, max_drop: 100, baseline: previous}\n"
STRICT = (
    "thresholds:\n  - {metric: pass_rate_pct, max_drop: 0, baseline: previous, confidence: 0.95}\n"
)


@pytest.fixture
def project(tmp_path, start_emulator, clock) -> Project:
    project = Project(root=tmp_path, base_url=start_emulator(seed=7, clock=clock))
    project.configure()
    return project


def applied_and_finished(project: Project, clock, *, calls: int, extra: str) -> dict:
    project.declare("nightly", calls=calls, extra=extra)
    assert 0 == project.run("apply", "--auto-approve").exit_code
    clock.advance(24 * 3600)
    result = project.run("status", "--format", "json")
    document = json.loads(result.stdout)
    jsonschema.validate(document, STATUS_SCHEMA)
    return document


def test_the_first_run_has_no_baseline_yet_and_passes_with_a_note(project, clock):
    """on_missing_baseline defaults to pass, and the report says there was nothing to compare."""
    document = applied_and_finished(project, clock, calls=2, extra=LOOSE)
    (gate,) = document["resources"][0]["gates"]
    assert ("passed", None) == (gate["verdict"], gate["baseline"]["run_id"])
    assert "no baseline yet (previous): on_missing_baseline is pass" == gate["baseline"]["note"]
    assert 0 == document["exit_code"]


def test_after_a_changed_spec_status_compares_with_the_previous_run(project, clock, tmp_path):
    """Second apply with one more call: the first run is the baseline, in every view."""
    first = applied_and_finished(project, clock, calls=2, extra=LOOSE)
    first_run = first["resources"][0]["run"]["id"]
    first_rate = first["resources"][0]["gates"][0]["value"]
    second = applied_and_finished(project, clock, calls=3, extra=LOOSE)
    (gate,) = second["resources"][0]["gates"]
    assert second["resources"][0]["run"]["id"] != first_run
    assert (first_run, first_rate) == (gate["baseline"]["run_id"], gate["baseline"]["value"])
    assert gate["baseline"]["change"] == pytest.approx(gate["value"] - first_rate)
    junit = tmp_path / "status.xml"
    table = project.run("status", "-o", f"junit:{junit}")
    assert 0 == table.exit_code, table.stdout
    assert f"vs previous {first_run} = " in table.stdout
    properties = {
        p.get("name"): p.get("value") for p in ElementTree.parse(junit).getroot().iter("property")
    }
    assert first_run == properties["baseline_run"]


def test_a_drop_not_shown_to_be_within_the_margin_fails_with_exit_3(project, clock):
    """max_drop 0 at 95 %: a handful of items can never show non-inferiority, so exit 3."""
    applied_and_finished(project, clock, calls=2, extra=STRICT)
    project.declare("nightly", calls=3, extra=STRICT)
    assert 0 == project.run("apply", "--auto-approve").exit_code
    clock.advance(24 * 3600)
    result = project.run("status")
    assert 3 == result.exit_code, result.stdout
    assert "(the interval's far end) is more than 0" in result.stdout
    waited = project.run("apply", "--auto-approve", "--wait")
    assert 3 == waited.exit_code, waited.stdout


def test_a_baseline_of_another_resource_is_found_outside_the_target(project, clock):
    """`status --target` the candidate: main's current run is still its baseline."""
    project.declare("main", calls=2)
    candidate = (
        "thresholds:\n"
        "  - {metric: cost_usd, max_rise_pct: 100, baseline: {address: BlandEvalRun/main}}\n"
    )
    project.declare("candidate", calls=3, extra=candidate)
    assert 0 == project.run("apply", "--auto-approve").exit_code
    clock.advance(24 * 3600)
    everything = json.loads(project.run("status", "--format", "json").stdout)
    main_run = next(
        r["run"]["id"] for r in everything["resources"] if r["address"] == "BlandEvalRun/main"
    )
    result = project.run("status", "--target", "BlandEvalRun/candidate", "--format", "json")
    document = json.loads(result.stdout)
    (only,) = document["resources"]
    (gate,) = only["gates"]
    assert (main_run, "BlandEvalRun/main") == (gate["baseline"]["run_id"], gate["baseline"]["name"])
    assert 0 == result.exit_code, result.stdout
