"""The text and JSON renderers draw a plan faithfully; JSON matches its published schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from reconciler.model import (
    Action,
    Address,
    Change,
    DiffKind,
    FieldDiff,
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
    VendorCounts,
)
from reconciler.render.json import FORMAT_VERSION, render_json
from reconciler.render.text import render_text
from reconciler.vendors import adaline as adaline_vendor

SCHEMA = json.loads((Path(__file__).parent.parent / "schemas" / "plan.schema.json").read_text())
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _bland(name: str, threshold: int = 75) -> Resource:
    return Resource.build(
        address=Address(Kind.BLAND_EVAL_RUN, name),
        spec={
            "call_ids": ["call-1"],
            "attached_agents": [{"eval_agent_id": "agent-1", "weight": 100}],
            "pass_threshold_pct": threshold,
        },
        lifecycle=Lifecycle(),
        source=SourceLocation(path="evals/a.yaml", line=1),
    )


def _run(run_id: str, status: str = "RUNNING", vendor: Vendor = Vendor.BLAND) -> LiveRun:
    return LiveRun(
        vendor=vendor,
        run_id=run_id,
        status=status,
        phase=RunPhase.from_status(status),
        created_at=NOW,
    )


def _plan() -> Plan:
    key = adaline_vendor.key(prompt_id="p" * 24, evaluator_id="e" * 24, dataset_id="d" * 24)
    changes = (
        Change(
            action=Action.CREATE,
            reason=Reason.MISSING,
            vendor=Vendor.BLAND,
            subject="BlandEvalRun/new",
            identity=Identity.NONE,
            resource=_bland("new"),
        ),
        Change(
            action=Action.REPLACE,
            reason=Reason.SPEC_CHANGED,
            vendor=Vendor.BLAND,
            subject="BlandEvalRun/changed",
            identity=Identity.LABELS,
            resource=_bland("changed", 80),
            run=_run("run-old"),
            changed=(
                FieldDiff(path="pass_threshold_pct", change=DiffKind.CHANGED, new="80"),
                FieldDiff(path="metadata.team", change=DiffKind.CHANGED, new=None),
                FieldDiff(path="call_ids", change=DiffKind.ADDED, new='["c1","c2"]'),
                FieldDiff(path="lifecycle.triggers.dataset", change=DiffKind.ADDED, new="2026"),
                FieldDiff(path="run_mode", change=DiffKind.CHANGED, new='"te…'),
            ),
        ),
        Change(
            action=Action.CANCEL,
            reason=Reason.NOT_DECLARED,
            vendor=Vendor.BLAND,
            subject="BlandEvalRun/gone",
            identity=Identity.LABELS,
            run=_run("run-gone", "QUEUED"),
        ),
        Change(
            action=Action.NO_OP,
            reason=Reason.MATCHED,
            vendor=Vendor.ADALINE,
            subject=str(key),
            identity=Identity.NATURAL_KEY,
            run=LiveRun(
                vendor=Vendor.ADALINE,
                run_id="run-a",
                status="running",
                phase=RunPhase.ACTIVE,
                created_at=NOW,
                natural_key=key,
            ),
        ),
    )
    return Plan(
        workspace="support-evals",
        changes=changes,
        counts=(
            VendorCounts(vendor=Vendor.ADALINE, live=1, matched=1, unmanaged=1),
            VendorCounts(vendor=Vendor.BLAND, live=5, managed=2, unmanaged=2, foreign=1),
        ),
        notes=("Adaline runs carry no labels",),
    )


class TestText:
    def test_lines_use_terraform_symbols_and_end_with_the_summary(self):
        text = render_text(_plan())
        assert "  + create BlandEvalRun/new" in text
        assert "  -/+ replace BlandEvalRun/changed" in text
        assert "  - cancel BlandEvalRun/gone" in text
        summary = "Plan: 1 to create, 1 to cancel, 1 to replace."
        assert summary == text.rstrip().splitlines()[-1]

    def test_a_first_plan_has_one_blank_line_before_its_summary_never_two(self):
        from dataclasses import replace

        changes = tuple(c for c in _plan().changes if c.action is not Action.NO_OP)
        text = render_text(replace(_plan(), changes=changes, counts=(), notes=()))
        assert "\n\n\n" not in text
        assert "\n\nEstimated cost: unknown (2 run(s) not priced)\nPlan: 1 to create," in text

    def test_replace_lists_changed_fields_and_hides_sensitive_values(self):
        text = render_text(_plan())
        assert "~ pass_threshold_pct = 80" in text
        assert "~ metadata.team\n" in text

    def test_reasons_and_cancelled_run_are_shown(self):
        text = render_text(_plan())
        cancel = next(line for line in text.splitlines() if "cancel BlandEvalRun/gone" in line)
        assert "run run-gone QUEUED" in cancel
        assert "no longer declared" in cancel

    def test_no_ops_are_counted_and_listed_only_when_verbose(self):
        assert "matched by natural key" not in render_text(_plan()).split("\n\n")[1]
        assert "1 resource(s) or run(s) need nothing" in render_text(_plan())
        verbose = render_text(_plan(), verbose=True)
        assert "matched by natural key; Adaline runs carry no labels" in verbose

    def test_counts_say_what_was_left_alone(self):
        text = render_text(_plan())
        assert (
            "Bland: 5 live runs: 2 managed by this workspace, 3 of others left alone "
            "(1 owned by another workspace or user; 2 with no known owner)." in text
        )

    def test_no_colour_codes_unless_asked(self):
        assert "\x1b[" not in render_text(_plan())
        assert "\x1b[" in render_text(_plan(), color=True)

    def test_empty_plan_says_no_changes(self):
        text = render_text(Plan(workspace="w", changes=(), counts=()))
        assert text.strip() == "No changes. The live runs match the manifests."

    def test_refusal_is_printed_after_the_summary(self):
        refused = Plan(workspace="w", changes=_plan().changes, counts=(), refusal="too many")
        assert render_text(refused).rstrip().endswith("Refused: too many")

    def test_targeted_plan_says_it_is_partial(self):
        targeted = Plan(workspace="w", changes=(), counts=(), targeted=True)
        assert "this plan is partial" in render_text(targeted)


class TestJson:
    def test_plan_validates_against_the_published_schema(self):
        document = json.loads(render_json(_plan()))
        jsonschema.validate(document, SCHEMA)
        assert FORMAT_VERSION == document["format_version"]

    @pytest.mark.parametrize(
        ("subject", "actions"),
        [
            ("BlandEvalRun/new", ["create"]),
            ("BlandEvalRun/changed", ["create", "delete"]),  # create before destroy, as apply
            ("BlandEvalRun/gone", ["delete"]),
        ],
        ids=["create", "replace", "cancel"],
    )
    def test_actions_are_terraform_style_lists(self, subject, actions):
        document = json.loads(render_json(_plan()))
        change = next(c for c in document["changes"] if c["subject"] == subject)
        assert actions == change["actions"]

    def test_diff_values_keep_their_json_types(self):
        """`"new": 80`, not `"80"`; triggers stay the strings they are; cut values stay text."""
        document = json.loads(render_json(_plan()))
        change = next(c for c in document["changes"] if c["subject"] == "BlandEvalRun/changed")
        assert {
            "pass_threshold_pct": 80,
            "metadata.team": None,
            "call_ids": ["c1", "c2"],
            "lifecycle.triggers.dataset": "2026",
            "run_mode": '"te…',
        } == {d["path"]: d["new"] for d in change["changed"]}

    def test_summary_counts_every_action(self):
        summary = json.loads(render_json(_plan()))["summary"]
        assert {"create": 1, "cancel": 1, "replace": 1, "no_op": 1} == {
            k: summary[k] for k in ("create", "cancel", "replace", "no_op")
        }

    def test_natural_key_and_identity_are_machine_readable(self):
        document = json.loads(render_json(_plan()))
        matched = next(c for c in document["changes"] if c["vendor"] == "adaline")
        assert "natural_key" == matched["identity"]
        assert "p" * 24 == matched["natural_key"]["promptId"]

    def test_output_is_stable(self):
        assert render_json(_plan()) == render_json(_plan())
