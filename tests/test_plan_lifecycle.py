"""The planner with rename (`moved_from`), `release:` and stages (`lifecycle.after`).

Examples first, one per rule of docs/planning.md "Lifecycle", then properties over generated
worlds with stages: planning stays deterministic and order-free, report lines never cancel or
create, and applying until every stage settled leaves an empty plan.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.model import (
    LABEL_ADDRESS,
    Action,
    Address,
    Kind,
    Lifecycle,
    LiveRun,
    Reason,
    RunMetrics,
    RunPhase,
    Stage,
    StageGate,
    Threshold,
)
from reconciler.plan import plan
from reconciler.render.json import plan_document
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text
from tests.strategies import staged_worlds
from tests.test_plan import adaline, bland, make_plan, run, summary
from tests.test_plan_properties import World, apply_plan

PLAN_SCHEMA = json.loads(
    (Path(__file__).resolve().parent.parent / "schemas" / "plan.schema.json").read_text()
)
SMOKE = Address(Kind.BLAND_EVAL_RUN, "smoke")
OLD = Address(Kind.BLAND_EVAL_RUN, "old-name")
GATE = (Threshold(metric="pass_rate_pct", min=80),)


def smoke(**lifecycle: object) -> object:
    return replace(bland("smoke", call_ids=["call-9"]), thresholds=GATE)


def full(gates: StageGate = StageGate.PASS) -> object:
    return bland("full", lifecycle=Lifecycle(after=(Stage(address=SMOKE, gates=gates),)))


def finished(live: LiveRun, *, pass_rate: float) -> LiveRun:
    return replace(
        live,
        status="complete",
        phase=RunPhase.SUCCEEDED,
        metrics=RunMetrics(pass_rate_pct=pass_rate, sample_size=100),
    )


def relabelled(live: LiveRun, address: Address) -> LiveRun:
    labels = tuple((k, str(address) if k == LABEL_ADDRESS else v) for k, v in live.labels)
    return replace(live, labels=labels)


# --- rename ------------------------------------------------------------------------------------


class TestMovedFrom:
    def test_a_run_under_a_former_address_satisfies_the_renamed_resource(self):
        """Renamed with moved_from: no create, no prune; a `moved` line; no changes."""
        renamed = bland("new-name", lifecycle=Lifecycle(moved_from=(OLD,)))
        old_run = relabelled(run(renamed, "r1"), OLD)
        result = make_plan([renamed], [old_run])
        assert [
            (Action.MOVED, Reason.MOVED_FROM, "BlandEvalRun/new-name", "r1"),
            (Action.NO_OP, Reason.SATISFIED, "BlandEvalRun/new-name", "r1"),
        ] == summary(result)
        assert not result.has_changes
        text = render_text(result)
        assert "~ moved BlandEvalRun/old-name -> BlandEvalRun/new-name" in text
        assert "No changes." in text

    def test_without_moved_from_a_rename_cancels_and_creates(self):
        """The contrast: the old address is pruned and the new one created (a re-run)."""
        renamed = bland("new-name")
        old_run = relabelled(run(renamed, "r1"), OLD)
        actions = {(a, s) for a, _, s, _ in summary(make_plan([renamed], [old_run]))}
        assert {
            (Action.CANCEL, "BlandEvalRun/old-name"),
            (Action.CREATE, "BlandEvalRun/new-name"),
        } == actions

    def test_a_former_address_no_run_carries_is_named_as_no_longer_needed(self):
        renamed = bland("new-name", lifecycle=Lifecycle(moved_from=(OLD,)))
        result = make_plan([renamed], [run(renamed, "r1")])
        assert [
            "BlandEvalRun/new-name: lifecycle.moved_from BlandEvalRun/old-name is no longer "
            "needed (no live run carries it); remove it from evals/new-name.yaml:1"
        ] == [n for n in result.notes if "moved_from" in n]

    def test_a_rename_at_a_label_less_vendor_is_a_no_op(self):
        """Adaline runs are matched by natural key: the new name matches the same run."""
        before, after = adaline("qa"), adaline("qa-renamed")
        live = run(before, "e1", "completed", workspace=None)
        assert [(Action.NO_OP, Reason.MATCHED, "AdalineEvaluation/qa-renamed", "e1")] == summary(
            make_plan([after], [live])
        )
        assert not any("moved_from" in n for n in make_plan([after], [live]).notes)


# --- release -----------------------------------------------------------------------------------


class TestRelease:
    def test_report_lines_are_valid_json_plan_lines_and_show_in_the_pull_request_comment(self):
        legacy = bland("legacy-nightly")
        renamed = bland("new-name", lifecycle=Lifecycle(moved_from=(OLD,)))
        live = [run(legacy, "r1"), relabelled(run(renamed, "r2"), OLD)]
        result = make_plan([renamed], live, release=("BlandEvalRun/legacy-*",))
        jsonschema.validate(plan_document(result), PLAN_SCHEMA)
        comment = render_markdown(result)
        assert "**2 line(s) only report (not changes):**" in comment
        assert "released `BlandEvalRun/legacy-nightly`" in comment
        assert "~ moved `BlandEvalRun/new-name`" in comment

    def test_a_released_address_whose_document_is_gone_is_reported_not_cancelled(self):
        legacy = bland("legacy-nightly")
        result = make_plan(
            [bland("keeper")], [run(legacy, "r1")], release=("BlandEvalRun/legacy-*",)
        )
        assert (Action.RELEASED, Reason.RELEASE, "BlandEvalRun/legacy-nightly", "r1") in summary(
            result
        )
        assert not any(c.cancels for c in result.changes)

    def test_a_released_resource_is_neither_replaced_nor_created(self):
        declared = bland("legacy-nightly", pass_threshold_pct=90)
        stale = run(bland("legacy-nightly"), "r1")
        result = make_plan([declared], [stale], release=("BlandEvalRun/legacy-*",))
        assert [(Action.RELEASED, Reason.RELEASE, "BlandEvalRun/legacy-nightly", "r1")] == summary(
            result
        )
        assert not result.has_changes


# --- stages --------------------------------------------------------------------------------------


class TestStages:
    def test_a_stage_waits_while_the_one_before_runs(self):
        first, second = smoke(), full()
        result = make_plan([first, second], [run(first, "s1")])
        wait = next(c for c in result.changes if c.subject == "BlandEvalRun/full")
        assert (Action.WAIT, Reason.STAGE_PENDING, (SMOKE,)) == (
            wait.action,
            wait.reason,
            wait.waits_for,
        )
        assert not result.has_changes  # rule 10
        assert "+ create BlandEvalRun/full (waits for BlandEvalRun/smoke)" in render_text(result)

    def test_a_stage_waits_while_the_one_before_is_not_even_created(self):
        result = make_plan([smoke(), full()], [])
        assert [(Action.WAIT, "BlandEvalRun/full"), (Action.CREATE, "BlandEvalRun/smoke")] == [
            (c.action, c.subject) for c in result.changes
        ]
        assert "Plan: 1 to create, 0 to cancel, 0 to replace." == result.summary

    def test_a_stage_is_created_once_the_one_before_passed_its_gates(self):
        first = smoke()
        result = make_plan([first, full()], [finished(run(first, "s1"), pass_rate=90)])
        assert (Action.CREATE, Reason.MISSING, "BlandEvalRun/full", None) in summary(result)

    def test_a_stage_whose_gate_failed_is_not_created(self):
        first = smoke()
        result = make_plan([first, full()], [finished(run(first, "s1"), pass_rate=10)])
        wait = next(c for c in result.changes if c.subject == "BlandEvalRun/full")
        assert (Action.WAIT, Reason.STAGE_FAILED) == (wait.action, wait.reason)
        assert not result.has_changes
        assert "+ create BlandEvalRun/full (fails on BlandEvalRun/smoke)" in render_text(result)

    def test_gates_finish_needs_the_run_to_finish_well_not_to_pass(self):
        first = smoke()
        result = make_plan(
            [first, full(StageGate.FINISH)], [finished(run(first, "s1"), pass_rate=10)]
        )
        assert (Action.CREATE, Reason.MISSING, "BlandEvalRun/full", None) in summary(result)

    def test_a_stage_past_max_attempts_fails_the_next_for_good(self):
        first = smoke()
        failed = [run(first, f"s{n}", "failed") for n in range(3)]
        result = make_plan([first, full()], failed)
        wait = next(c for c in result.changes if c.subject == "BlandEvalRun/full")
        assert Reason.STAGE_FAILED is wait.reason

    def test_held_creates_are_priced_apart_and_the_json_says_what_they_wait_for(self):
        result = make_plan([smoke(), full()], [])
        priced = replace(result, changes=tuple(replace(c, cost_usd=1.5) for c in result.changes))
        assert 1.5 == priced.total_cost_usd
        assert 1.5 == priced.held_cost_usd
        document = plan_document(priced)
        (held,) = [c for c in document["changes"] if c["action"] == "wait"]
        assert ["BlandEvalRun/smoke"] == held["waits_for"]
        assert ["no-op"] == held["actions"]
        assert 1.5 == document["cost"]["held_usd"]
        jsonschema.validate(document, PLAN_SCHEMA)
        assert "held for stages, not in this apply: $1.50" in render_text(priced)


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=200)
@given(world=staged_worlds(), data=st.data())
def test_plans_with_stages_are_deterministic_and_order_free(world: World, data: st.DataObject):
    desired, live, config = world
    first = plan(desired, live, settings=config)
    assert first == plan(desired, live, settings=config)
    assert first == plan(
        data.draw(st.permutations(desired)), data.draw(st.permutations(live)), settings=config
    )


@settings(max_examples=200)
@given(world=staged_worlds())
def test_report_lines_never_cancel_or_create_and_released_runs_are_never_cancelled(world: World):
    desired, live, config = world
    result = plan(desired, live, settings=config)
    assert all(not c.cancels and not c.creates for c in result.changes if c.action.reports_only)
    released = {c.run_id for c in result.changes if c.action is Action.RELEASED}
    assert not released & {c.run_id for c in result.changes if c.cancels}
    waiting = {c.subject for c in result.changes if c.action is Action.WAIT}
    assert not waiting & {c.subject for c in result.changes if c.creates}


def settle(live: list[LiveRun]) -> list[LiveRun]:
    """Every active run finishes well (the next stage's gates then decide)."""
    return [
        replace(r, status="complete", phase=RunPhase.SUCCEEDED) if r.phase is RunPhase.ACTIVE else r
        for r in live
    ]


@settings(max_examples=200)
@given(world=staged_worlds())
def test_applying_until_every_stage_settled_leaves_an_empty_plan(world: World):
    """Apply, let the runs finish, plan again: within one round per stage, nothing is left."""
    desired, live, config = world
    config = replace(config, allow_mass_cancel=True)
    for _ in range(len(desired) + 2):
        result = plan(desired, live, settings=config)
        if not result.has_changes:
            break
        live = settle(apply_plan(result, live, config))
    final = plan(desired, live, settings=config)
    assert [] == [(c.action, c.reason, c.subject, c.run_id) for c in final.actions]
