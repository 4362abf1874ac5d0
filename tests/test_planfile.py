"""Saved plans: written without secrets, read back, and refused when the world moved."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from reconciler.errors import ConfigError, StalePlanError
from reconciler.live import LiveState
from reconciler.model import (
    Action,
    Address,
    Change,
    Identity,
    Kind,
    Lifecycle,
    LiveRun,
    Plan,
    Reason,
    Resource,
    RunPhase,
    SourceLocation,
    Vendor,
)
from reconciler.planfile import check_saved_plan, read_plan_file, write_plan_file

SCHEMA = json.loads((Path(__file__).parent.parent / "schemas" / "plan.schema.json").read_text())
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRET_CALL = "call-from-env-4f1d"


def _resource(threshold: int = 75) -> Resource:
    return Resource.build(
        address=Address(Kind.BLAND_EVAL_RUN, "nightly"),
        spec={
            "call_ids": [SECRET_CALL],
            "attached_agents": [{"eval_agent_id": "agent-1"}],
            "pass_threshold_pct": threshold,
        },
        lifecycle=Lifecycle(),
        source=SourceLocation(path="evals/a.yaml", line=1),
        sensitive_paths=frozenset({"call_ids[0]"}),
    )


def _run(run_id: str, status: str) -> LiveRun:
    return LiveRun(
        vendor=Vendor.BLAND,
        run_id=run_id,
        status=status,
        phase=RunPhase.from_status(status),
        created_at=NOW,
    )


def _plan(resource: Resource) -> Plan:
    change = Change(
        action=Action.CREATE,
        reason=Reason.MISSING,
        vendor=Vendor.BLAND,
        subject=str(resource.address),
        identity=Identity.NONE,
        resource=resource,
    )
    return Plan(workspace="ws", changes=(change,), counts=())


def _state(*runs: LiveRun) -> LiveState:
    return LiveState(runs=tuple(runs), vendors=(Vendor.BLAND,))


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    write_plan_file(
        path,
        _plan(_resource()),
        _state(_run("r1", "RUNNING"), _run("r2", "COMPLETE")),
        targets=["BlandEvalRun/*"],
        excludes=[],
        allow_mass_cancel=False,
    )
    return path


def test_a_plan_file_is_valid_against_the_plan_schema(saved):
    jsonschema.validate(json.loads(saved.read_text()), SCHEMA)


def test_a_plan_file_holds_no_spec_values(saved):
    assert SECRET_CALL not in saved.read_text()


def test_a_plan_file_keeps_the_scope_it_was_made_with(saved):
    plan = read_plan_file(saved)
    assert ("BlandEvalRun/*",) == plan.targets
    assert plan.refusal is None


def test_a_refused_plan_is_saved_with_its_refusal(tmp_path):
    path = tmp_path / "plan.json"
    refused = dataclasses.replace(_plan(_resource()), refusal="the plan cancels 3 runs")
    write_plan_file(path, refused, _state(), targets=[], excludes=[], allow_mass_cancel=False)
    assert "the plan cancels 3 runs" == read_plan_file(path).refusal


def _edited(saved: Path, edit) -> Path:
    document = json.loads(saved.read_text())
    edit(document)
    saved.write_text(json.dumps(document))
    return saved


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["options"].update(targets=5),
            "options.targets: 5 is not of type 'array'",
        ),
        (lambda d: d["options"].pop("excludes"), "options: 'excludes' is a required property"),
        (
            lambda d: d["prior_state"]["bland"].update(runs=[]),
            "prior_state.bland.runs: [] is not of type 'object'",
        ),
        (lambda d: d["changes"][0].update(action=7), "changes[0].action: 7 is not one of"),
        (lambda d: d.update(refusal=False), "refusal: False is not of type 'string', 'null'"),
    ],
    ids=[
        "targets-not-a-list",
        "excludes-missing",
        "runs-not-an-object",
        "action-not-a-word",
        "refusal-not-text",
    ],
)
def test_a_plan_file_of_the_wrong_shape_names_the_field(saved, edit, message):
    path = _edited(saved, edit)
    with pytest.raises(ConfigError) as caught:
        read_plan_file(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_an_older_minor_format_still_reads(saved):
    def to_1_0(document):
        document["format_version"] = "1.0"
        for change in document["changes"]:
            change["actions"] = (
                ["delete", "create"] if change["action"] == "replace" else (change["actions"])
            )

    assert ("BlandEvalRun/*",) == read_plan_file(_edited(saved, to_1_0)).targets


def test_a_newer_format_is_refused_rather_than_guessed(saved):
    path = _edited(saved, lambda d: d.update(format_version="1.99"))
    with pytest.raises(ConfigError, match=r"format_version: '1\.99' is not a plan format"):
        read_plan_file(path)


def test_a_truncated_plan_file_is_invalid_json_naming_the_file(saved):
    saved.write_text(saved.read_text()[:100])
    with pytest.raises(ConfigError, match=f"^{saved}:\\d+: not a plan file \\(invalid JSON"):
        read_plan_file(saved)


def test_a_plan_file_is_replaced_whole_never_half_written(saved, tmp_path):
    """The write goes through a temporary file: nothing else is left in the directory."""
    before = saved.read_text()
    write_plan_file(
        saved, _plan(_resource(90)), _state(), targets=[], excludes=[], allow_mass_cancel=False
    )
    assert ["plan.json"] == sorted(p.name for p in tmp_path.iterdir())
    assert before != saved.read_text()


def test_an_unchanged_world_passes_the_check(saved):
    state = _state(_run("r1", "RUNNING"), _run("r2", "COMPLETE"))
    check_saved_plan(read_plan_file(saved), _plan(_resource()), state)


def test_a_run_that_appeared_or_finished_makes_the_plan_stale(saved):
    state = _state(_run("r1", "COMPLETE"), _run("r2", "COMPLETE"), _run("r3", "PENDING"))
    with pytest.raises(StalePlanError) as caught:
        check_saved_plan(read_plan_file(saved), _plan(_resource()), state)
    assert [
        "bland: run r3 appeared (active)",
        "bland: run r1 went from active to succeeded",
    ] == list(caught.value.changes)


def test_a_changed_manifest_makes_the_plan_stale(saved):
    state = _state(_run("r1", "RUNNING"), _run("r2", "COMPLETE"))
    with pytest.raises(StalePlanError, match="manifests changed"):
        check_saved_plan(read_plan_file(saved), _plan(_resource(threshold=90)), state)


def test_a_plan_for_another_workspace_is_refused(saved):
    other = Plan(workspace="other", changes=(), counts=())
    with pytest.raises(ConfigError, match="made for workspace 'ws'"):
        check_saved_plan(read_plan_file(saved), other, _state())


def test_json_plan_output_is_not_mistaken_for_a_saved_plan(tmp_path):
    path = tmp_path / "out.json"
    path.write_text(json.dumps({"format_version": "1.1", "changes": []}))
    with pytest.raises(ConfigError, match="not a saved plan"):
        read_plan_file(path)


def test_garbage_is_not_a_plan_file(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("{nope")
    with pytest.raises(ConfigError, match="invalid JSON"):
        read_plan_file(path)
