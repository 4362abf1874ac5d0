"""The planner, one class per rule of DESIGN.md "Reconciliation rules", on small examples."""

from __future__ import annotations

import gc
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from reconciler.errors import ListingError
from reconciler.live import gather_live_state
from reconciler.model import (
    JSON,
    LABEL_PROTECT,
    SENSITIVE_VALUE,
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
    PlanSettings,
    Reason,
    Resource,
    RunPhase,
    SourceLocation,
    Vendor,
    VendorCounts,
    canonical_json,
    format_instant,
    ownership_labels,
)
from reconciler.plan import plan
from reconciler.render.text import counts_line
from reconciler.vendors import arize as arize_vendor

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WS = "ws"
OWNER = "user-me"
BASE_SPEC: dict[str, JSON] = {
    "call_ids": ["call-1", "call-2"],
    "attached_agents": [{"eval_agent_id": "agent-1"}],
    "pass_threshold_pct": 80,
}


# --- builders ------------------------------------------------------------------------------


def bland(
    name: str = "nightly",
    *,
    lifecycle: Lifecycle | None = None,
    sensitive: frozenset[str] = frozenset(),
    **spec: JSON,
) -> Resource:
    return Resource.build(
        address=Address(Kind.BLAND_EVAL_RUN, name),
        spec={**BASE_SPEC, **spec},
        lifecycle=lifecycle or Lifecycle(),
        source=SourceLocation(path=f"evals/{name}.yaml", line=1),
        sensitive_paths=sensitive,
    )


def adaline(name: str = "qa", *, prompt: str = "prompt-1", **lifecycle: object) -> Resource:
    return Resource.build(
        address=Address(Kind.ADALINE_EVALUATION, name),
        spec={"promptId": prompt, "evaluatorId": "evaluator-1", "datasetId": "dataset-1"},
        lifecycle=Lifecycle(**lifecycle),  # type: ignore[arg-type]
        source=SourceLocation(path=f"evals/{name}.yaml", line=1),
    )


def arize(name: str = "drift", *, task: str = "task-1") -> Resource:
    return Resource.build(
        address=Address(Kind.ARIZE_TASK_RUN, name),
        spec={
            "task_id": task,
            "data_start_time": format_instant(NOW - timedelta(days=1)),
            "data_end_time": format_instant(NOW),
        },
        lifecycle=Lifecycle(),
        source=SourceLocation(path=f"evals/{name}.yaml", line=1),
    )


def run(
    resource: Resource,
    run_id: str,
    status: str = "running",
    *,
    minutes_ago: int = 60,
    workspace: str | None = WS,
    protect_label: bool = False,
    created_by: str | None = None,
) -> LiveRun:
    """Build a live run of `resource` as its vendor would list it."""
    labels: tuple[tuple[str, str], ...] = ()
    if resource.vendor is Vendor.BLAND and workspace is not None:
        labels = ownership_labels(resource, workspace=workspace, request_id="r1")
        if protect_label:
            labels = tuple(sorted({**dict(labels), LABEL_PROTECT: "true"}.items()))
    return LiveRun(
        vendor=resource.vendor,
        run_id=run_id,
        status=status,
        phase=RunPhase.from_status(status),
        created_at=NOW - timedelta(minutes=minutes_ago),
        labels=labels,
        natural_key=resource.natural_key,
        created_by=created_by,
        adopt_key=resource.adopt_key,
    )


def settings(**overrides: object) -> PlanSettings:
    return replace(PlanSettings(workspace=WS, now=NOW), **overrides)  # type: ignore[arg-type]


def make_plan(desired: Sequence[Resource], live: Sequence[LiveRun], **overrides: object) -> Plan:
    return plan(desired, live, settings=settings(**overrides))


def summary(p: Plan) -> list[tuple[Action, Reason, str, str | None]]:
    """Reduce a plan to (action, reason, subject, run id) per change, in plan order."""
    return [(c.action, c.reason, c.subject, c.run_id) for c in p.changes]


def only(p: Plan) -> Change:
    """Return the plan's single change."""
    assert 1 == len(p.changes), summary(p)
    return p.changes[0]


NIGHTLY = "BlandEvalRun/nightly"


# --- rules ---------------------------------------------------------------------------------


class TestRule1Satisfied:
    """A run with the resource's identity and current hash, active or finished well: no-op."""

    @pytest.mark.parametrize("status", ["pending", "queued", "running", "complete", "partial"])
    def test_current_run_satisfies(self, status: str) -> None:
        """A managed run of the current hash in a satisfying status makes the resource a no-op."""
        resource = bland()
        live = [run(resource, "r-1", status)]
        assert [(Action.NO_OP, Reason.SATISFIED, NIGHTLY, "r-1")] == summary(
            make_plan([resource], live)
        )

    def test_satisfied_change_rests_on_labels(self) -> None:
        """The no-op names the run it rests on and says the link is by labels."""
        resource = bland()
        change = only(make_plan([resource], [run(resource, "r-1")]))
        assert (Identity.LABELS, resource) == (change.identity, change.resource)

    def test_unknown_status_satisfies(self) -> None:
        """A status no vendor documents neither creates nor cancels anything."""
        resource = bland()
        p = make_plan([resource], [run(resource, "r-1", "mystery")])
        assert [(Action.NO_OP, Reason.SATISFIED, NIGHTLY, "r-1")] == summary(p)

    def test_cancelling_counts_as_cancelled(self) -> None:
        """A cancelling run does not satisfy: it is a lost attempt and the resource is created."""
        resource = bland()
        change = only(make_plan([resource], [run(resource, "r-1", "cancelling")]))
        expected = (Action.CREATE, Reason.RETRY_AFTER_FAILURE, 1)
        assert expected == (change.action, change.reason, change.attempts)

    def test_newest_finished_run_is_the_result(self) -> None:
        """With only finished runs, the no-op rests on the newest one."""
        resource = bland()
        live = [
            run(resource, "old", "complete", minutes_ago=90),
            run(resource, "new", "complete", minutes_ago=30),
        ]
        assert "new" == only(make_plan([resource], live)).run_id

    def test_active_run_preferred_over_finished(self) -> None:
        """An active run of the current hash is the one the no-op names."""
        resource = bland()
        live = [
            run(resource, "done", "complete", minutes_ago=90),
            run(resource, "going", "running", minutes_ago=30),
        ]
        assert "going" == only(make_plan([resource], live)).run_id

    def test_no_changes_summary(self) -> None:
        """A plan of only no-ops has no changes and says so."""
        resource = bland()
        p = make_plan([resource], [run(resource, "r-1")])
        assert (False, "No changes. The live runs match the manifests.") == (
            p.has_changes,
            p.summary,
        )


class TestRule2Create:
    """No satisfying run: create, while failed attempts of the same hash stay below max."""

    def test_missing_run_is_created(self) -> None:
        """A resource with no run at all is created with reason missing and no identity yet."""
        resource = bland()
        change = only(make_plan([resource], []))
        expected = (Action.CREATE, Reason.MISSING, Identity.NONE, resource, None)
        assert expected == (
            change.action,
            change.reason,
            change.identity,
            change.resource,
            change.run,
        )

    def test_create_summary_line(self) -> None:
        """The summary counts creates the Terraform way."""
        p = make_plan([bland()], [])
        assert "Plan: 1 to create, 0 to cancel, 0 to replace." == p.summary

    @pytest.mark.parametrize("status", ["failed", "cancelled", "canceled", "cancelling"])
    def test_retry_after_a_lost_attempt(self, status: str) -> None:
        """One failed or cancelled run of the current hash: create again, counting the attempt."""
        resource = bland()
        change = only(make_plan([resource], [run(resource, "r-1", status)]))
        expected = (Action.CREATE, Reason.RETRY_AFTER_FAILURE, 1)
        assert expected == (change.action, change.reason, change.attempts)

    def test_attempts_exhausted_creates_nothing(self) -> None:
        """Three lost attempts of the current hash (default max 3): a no-op that says so."""
        resource = bland()
        live = [
            run(resource, "r-1", "failed", minutes_ago=30),
            run(resource, "r-2", "cancelled", minutes_ago=20),
            run(resource, "r-3", "failed", minutes_ago=10),
        ]
        p = make_plan([resource], live)
        change = only(p)
        assert (Action.NO_OP, Reason.ATTEMPTS_EXHAUSTED, 3) == (
            change.action,
            change.reason,
            change.attempts,
        )
        assert 0 == p.count(Action.CREATE)

    def test_a_create_after_a_finished_run_of_an_old_spec_lists_what_changed(self) -> None:
        """The old run is history (rule 5), and the create still says which fields changed."""
        old, new = bland(pass_threshold_pct=50), bland()
        change = only(make_plan([new], [run(old, "r-1", "complete")]))
        assert (Action.CREATE, Reason.SPEC_CHANGED) == (change.action, change.reason)
        assert ["pass_threshold_pct"] == [d.path for d in change.changed]

    def test_attempts_exhausted_keeps_an_older_run_that_is_still_going(self) -> None:
        """Nothing will replace the run of the earlier spec, so it is not cancelled."""
        old, new = bland(pass_threshold_pct=50), bland(lifecycle=Lifecycle(max_attempts=1))
        live = [run(old, "r-old", "running", minutes_ago=60), run(new, "r-1", "failed")]
        p = make_plan([new], live)
        assert 0 == p.count(Action.CANCEL) + p.count(Action.REPLACE)
        assert "earlier spec keep running" in p.notes[0]

    def test_attempts_exhausted_has_a_note(self) -> None:
        """The plan explains what to do when max_attempts is reached."""
        resource = bland(lifecycle=Lifecycle(max_attempts=1))
        p = make_plan([resource], [run(resource, "r-1", "failed")])
        assert 1 == len(p.notes)
        assert "max_attempts 1" in p.notes[0]

    def test_max_attempts_is_per_resource(self) -> None:
        """A higher max_attempts allows another attempt after three failures."""
        resource = bland(lifecycle=Lifecycle(max_attempts=4))
        live = [run(resource, f"r-{i}", "failed", minutes_ago=10 * i) for i in range(1, 4)]
        change = only(make_plan([resource], live))
        assert (Action.CREATE, Reason.RETRY_AFTER_FAILURE, 3) == (
            change.action,
            change.reason,
            change.attempts,
        )

    def test_failures_of_an_old_hash_do_not_count(self) -> None:
        """Failed runs of an earlier spec are not attempts of the current one."""
        old = bland(pass_threshold_pct=50)
        new = bland()
        live = [run(old, f"r-{i}", "failed", minutes_ago=10 * i) for i in range(1, 4)]
        change = only(make_plan([new], live))
        assert (Action.CREATE, Reason.SPEC_CHANGED, 0) == (
            change.action,
            change.reason,
            change.attempts,
        )

    def test_a_success_after_failures_satisfies(self) -> None:
        """Past failures do not matter once a run of the current hash succeeded."""
        resource = bland(lifecycle=Lifecycle(max_attempts=1))
        live = [
            run(resource, "r-1", "failed", minutes_ago=30),
            run(resource, "r-2", "complete", minutes_ago=10),
        ]
        assert [(Action.NO_OP, Reason.SATISFIED, NIGHTLY, "r-2")] == summary(
            make_plan([resource], live)
        )


class TestRerunAfter:
    """`lifecycle.rerun_after`: runs created before it stop satisfying, once it has passed."""

    def test_past_rerun_after_creates_again(self) -> None:
        """A run older than a past rerun_after no longer satisfies: create, reason rerun_after."""
        resource = bland(lifecycle=Lifecycle(rerun_after=NOW - timedelta(minutes=30)))
        change = only(make_plan([resource], [run(resource, "r-1", "complete", minutes_ago=60)]))
        assert (Action.CREATE, Reason.RERUN_AFTER) == (change.action, change.reason)

    def test_run_after_the_cutoff_satisfies(self) -> None:
        """A run created after a past rerun_after satisfies the resource."""
        resource = bland(lifecycle=Lifecycle(rerun_after=NOW - timedelta(minutes=30)))
        live = [run(resource, "r-1", "complete", minutes_ago=10)]
        assert [(Action.NO_OP, Reason.SATISFIED, NIGHTLY, "r-1")] == summary(
            make_plan([resource], live)
        )

    def test_future_rerun_after_is_not_yet_in_effect(self) -> None:
        """A rerun_after still in the future changes nothing: the old run satisfies."""
        resource = bland(lifecycle=Lifecycle(rerun_after=NOW + timedelta(days=1)))
        live = [run(resource, "r-1", "complete", minutes_ago=60)]
        assert [(Action.NO_OP, Reason.SATISFIED, NIGHTLY, "r-1")] == summary(
            make_plan([resource], live)
        )

    def test_attempts_before_the_cutoff_do_not_count(self) -> None:
        """Failures before a past rerun_after do not use up the new attempts."""
        resource = bland(
            lifecycle=Lifecycle(max_attempts=1, rerun_after=NOW - timedelta(minutes=30))
        )
        change = only(make_plan([resource], [run(resource, "r-1", "failed", minutes_ago=60)]))
        assert (Action.CREATE, Reason.MISSING, 0) == (
            change.action,
            change.reason,
            change.attempts,
        )

    def test_rerun_after_applies_to_natural_keys(self) -> None:
        """An Adaline run older than a past rerun_after does not satisfy the resource."""
        resource = adaline(rerun_after=NOW - timedelta(minutes=30))
        change = only(make_plan([resource], [run(resource, "e-1", "completed", minutes_ago=60)]))
        assert (Action.CREATE, Reason.RERUN_AFTER) == (change.action, change.reason)


class TestRule3Replace:
    """A managed active run with an old hash: cancel it and create its successor, as a replace."""

    def test_stale_active_run_is_replaced(self) -> None:
        """The replace cancels the stale run and creates the current resource."""
        old, new = bland(pass_threshold_pct=70), bland()
        change = only(make_plan([new], [run(old, "r-1")]))
        expected = (Action.REPLACE, Reason.SPEC_CHANGED, Identity.LABELS, "r-1", new)
        assert expected == (
            change.action,
            change.reason,
            change.identity,
            change.run_id,
            change.resource,
        )
        assert (True, True) == (change.cancels, change.creates)

    def test_replace_lists_changed_fields_with_new_values(self) -> None:
        """A changed field is listed by path with its new value as canonical JSON."""
        old, new = bland(pass_threshold_pct=70), bland()
        change = only(make_plan([new], [run(old, "r-1")]))
        assert (FieldDiff(path="pass_threshold_pct", change=DiffKind.CHANGED, new="80"),) == (
            change.changed
        )

    def test_replace_lists_added_and_removed_fields(self) -> None:
        """Added fields show their value; removed fields show none."""
        old = bland(run_mode="text")
        new = bland(workbench_setup_version_id="v7")
        change = only(make_plan([new], [run(old, "r-1")]))
        expected = (
            FieldDiff(path="run_mode", change=DiffKind.REMOVED, new=None),
            FieldDiff(path="workbench_setup_version_id", change=DiffKind.ADDED, new='"v7"'),
        )
        assert expected == change.changed

    def test_trigger_change_is_a_replace(self) -> None:
        """A changed trigger changes the hash and is listed as lifecycle.triggers.<name>."""
        old = bland(lifecycle=Lifecycle(triggers=(("dataset", canonical_json("v1")),)))
        new = bland(lifecycle=Lifecycle(triggers=(("dataset", canonical_json("v2")),)))
        assert old.spec_hash != new.spec_hash
        change = only(make_plan([new], [run(old, "r-1")]))
        expected = (
            FieldDiff(path="lifecycle.triggers.dataset", change=DiffKind.CHANGED, new='"v2"'),
        )
        assert (Action.REPLACE, expected) == (change.action, change.changed)

    def test_new_trigger_is_listed_as_added(self) -> None:
        """Adding a trigger replaces the run and lists the trigger as added."""
        old = bland()
        new = bland(lifecycle=Lifecycle(triggers=(("model", canonical_json("gpt")),)))
        change = only(make_plan([new], [run(old, "r-1")]))
        expected = (FieldDiff(path="lifecycle.triggers.model", change=DiffKind.ADDED, new='"gpt"'),)
        assert expected == change.changed

    def test_sensitive_field_value_is_never_shown(self) -> None:
        """A field whose value came from ${ENV} is listed without its value."""
        old = bland()
        new = bland(call_ids=["call-secret"], sensitive=frozenset({"call_ids"}))
        change = only(make_plan([new], [run(old, "r-1")]))
        assert (
            FieldDiff(path="call_ids", change=DiffKind.CHANGED, new=SENSITIVE_VALUE),
        ) == change.changed

    def test_sensitive_list_item_hides_the_whole_field(self) -> None:
        """A secret inside a list (`call_ids[0]`) hides the value of the changed field."""
        old = bland()
        new = bland(call_ids=["call-secret"], sensitive=frozenset({"call_ids[0]"}))
        change = only(make_plan([new], [run(old, "r-1")]))
        assert (
            FieldDiff(path="call_ids", change=DiffKind.CHANGED, new=SENSITIVE_VALUE),
        ) == change.changed

    def test_sensitive_nested_key_hides_the_whole_field(self) -> None:
        """A secret nested under an object field hides the value of that field."""
        old = bland()
        new = bland(
            attached_agents=[{"eval_agent_id": "agent-secret"}],
            sensitive=frozenset({"attached_agents[0].eval_agent_id"}),
        )
        change = only(make_plan([new], [run(old, "r-1")]))
        expected = (
            FieldDiff(path="attached_agents", change=DiffKind.CHANGED, new=SENSITIVE_VALUE),
        )
        assert expected == change.changed

    def test_trigger_from_the_environment_is_masked_in_the_diff(self) -> None:
        """A trigger whose value came from ${ENV} is listed as changed, its value masked."""
        old = bland(lifecycle=Lifecycle(triggers=(("dataset", canonical_json("old-secret")),)))
        new = bland(
            lifecycle=Lifecycle(triggers=(("dataset", canonical_json("new-secret")),)),
            sensitive=frozenset({"lifecycle.triggers.dataset"}),
        )
        change = only(make_plan([new], [run(old, "r-1")]))
        expected = (
            FieldDiff(
                path="lifecycle.triggers.dataset", change=DiffKind.CHANGED, new=SENSITIVE_VALUE
            ),
        )
        assert (Action.REPLACE, expected) == (change.action, change.changed)

    def test_a_spec_whose_every_field_changed_lists_each_field(self) -> None:
        """When no field is left as it was, each is still listed by name, never as one `root`."""
        old = Resource.build(
            address=Address(Kind.BLAND_EVAL_RUN, "nightly"),
            spec={"call_ids": ["call-1"], "run_mode": "text"},
            lifecycle=Lifecycle(triggers=(("dataset", canonical_json("v1")),)),
            source=SourceLocation(path="evals/nightly.yaml", line=1),
        )
        new = bland(lifecycle=Lifecycle(triggers=(("model", canonical_json("gpt")),)))
        change = only(make_plan([new], [run(old, "r-1")]))
        expected = (
            FieldDiff(
                path="attached_agents", change=DiffKind.ADDED, new='[{"eval_agent_id":"agent-1"}]'
            ),
            FieldDiff(path="call_ids", change=DiffKind.CHANGED, new='["call-1","call-2"]'),
            FieldDiff(path="lifecycle.triggers.dataset", change=DiffKind.REMOVED, new=None),
            FieldDiff(path="lifecycle.triggers.model", change=DiffKind.ADDED, new='"gpt"'),
            FieldDiff(path="pass_threshold_pct", change=DiffKind.ADDED, new="80"),
            FieldDiff(path="run_mode", change=DiffKind.REMOVED, new=None),
        )
        assert (Action.REPLACE, expected) == (change.action, change.changed)
        assert all(d.path for d in change.changed)

    def test_long_values_are_shortened(self) -> None:
        """A long new value is cut to at most 120 characters, ending with an ellipsis."""
        old = bland()
        new = bland(call_ids=[f"call-{i:04d}" for i in range(40)])
        (diff,) = only(make_plan([new], [run(old, "r-1")])).changed
        assert diff.new is not None
        assert (120, "…") == (len(diff.new), diff.new[-1])

    def test_run_without_fields_label_lists_nothing(self) -> None:
        """A stale run with no `reconciler.fields` label is replaced with an empty diff."""
        old, new = bland(pass_threshold_pct=70), bland()
        stale = run(old, "r-1")
        stale = replace(
            stale, labels=tuple(kv for kv in stale.labels if kv[0] != "reconciler.fields")
        )
        change = only(make_plan([new], [stale]))
        assert (Action.REPLACE, ()) == (change.action, change.changed)

    def test_stale_finished_run_is_not_replaced(self) -> None:
        """A finished run of an old spec is history: the new spec is simply created."""
        old, new = bland(pass_threshold_pct=70), bland()
        change = only(make_plan([new], [run(old, "r-1", "complete")]))
        assert (Action.CREATE, Reason.SPEC_CHANGED, None) == (
            change.action,
            change.reason,
            change.run_id,
        )

    def test_stale_run_left_over_after_a_replace_is_cancelled(self) -> None:
        """A current run satisfies; a stale active run still running is cancelled."""
        old, new = bland(pass_threshold_pct=70), bland()
        live = [run(old, "old", minutes_ago=60), run(new, "new", minutes_ago=10)]
        expected = [
            (Action.NO_OP, Reason.SATISFIED, NIGHTLY, "new"),
            (Action.CANCEL, Reason.SPEC_CHANGED, NIGHTLY, "old"),
        ]
        assert expected == summary(make_plan([new], live))

    def test_two_stale_runs_give_one_replace_and_one_cancel(self) -> None:
        """Only one create is made for several stale active runs; the others are cancelled."""
        old, new = bland(pass_threshold_pct=70), bland()
        live = [run(old, "a", minutes_ago=60), run(old, "b", minutes_ago=50)]
        p = make_plan([new], live)
        assert (1, 1, 0) == (
            p.count(Action.REPLACE),
            p.count(Action.CANCEL),
            p.count(Action.CREATE),
        )

    def test_stale_run_protected_in_manifest_is_kept(self) -> None:
        """With protect: true the old run keeps running; the new spec is created beside it."""
        protect = Lifecycle(protect=True)
        old, new = bland(pass_threshold_pct=70, lifecycle=protect), bland(lifecycle=protect)
        expected = [
            (Action.CREATE, Reason.SPEC_CHANGED, NIGHTLY, None),
            (Action.NO_OP, Reason.PROTECTED, NIGHTLY, "r-1"),
        ]
        assert expected == summary(make_plan([new], [run(old, "r-1")]))

    def test_stale_run_protected_by_label_is_kept(self) -> None:
        """A stale run with `reconciler.protect=true` is never cancelled, even by a replace."""
        old, new = bland(pass_threshold_pct=70), bland()
        expected = [
            (Action.CREATE, Reason.SPEC_CHANGED, NIGHTLY, None),
            (Action.NO_OP, Reason.PROTECTED, NIGHTLY, "r-1"),
        ]
        assert expected == summary(make_plan([new], [run(old, "r-1", protect_label=True)]))

    def test_replace_summary_line(self) -> None:
        """The summary counts a replace once, as a replace."""
        old, new = bland(pass_threshold_pct=70), bland()
        p = make_plan([new], [run(old, "r-1")])
        assert "Plan: 0 to create, 0 to cancel, 1 to replace." == p.summary


class TestRule4Prune:
    """A managed active run whose address is no longer declared: cancel it."""

    def test_undeclared_active_run_is_cancelled(self) -> None:
        """The prune names the run's address as its subject and has no resource."""
        gone = bland("gone")
        change = only(make_plan([], [run(gone, "r-1")]))
        expected = (Action.CANCEL, Reason.NOT_DECLARED, "BlandEvalRun/gone", None, Identity.LABELS)
        assert expected == (
            change.action,
            change.reason,
            change.subject,
            change.resource,
            change.identity,
        )
        assert Address(Kind.BLAND_EVAL_RUN, "gone") == change.address

    def test_prune_beside_a_declared_resource(self) -> None:
        """Declared resources are reconciled and undeclared ones pruned in the same plan."""
        kept, gone = bland("kept"), bland("gone")
        live = [run(kept, "r-1"), run(gone, "r-2")]
        expected = [
            (Action.CANCEL, Reason.NOT_DECLARED, "BlandEvalRun/gone", "r-2"),
            (Action.NO_OP, Reason.SATISFIED, "BlandEvalRun/kept", "r-1"),
        ]
        assert expected == summary(make_plan([kept], live))

    def test_protect_label_survives_deleting_the_document(self) -> None:
        """A run labelled `reconciler.protect` is not pruned after its document is deleted."""
        gone = bland("gone", lifecycle=Lifecycle(protect=True))
        p = make_plan([], [run(gone, "r-1")])
        assert [(Action.NO_OP, Reason.PROTECTED, "BlandEvalRun/gone", "r-1")] == summary(p)
        assert ("BlandEvalRun/gone: run r-1 is protected and is left running",) == p.notes

    def test_managed_run_without_address_label_is_left_alone(self) -> None:
        """A run with our workspace label but no address cannot be pruned by address."""
        gone = run(bland("gone"), "r-1")
        gone = replace(gone, labels=(("reconciler.workspace", WS),))
        assert () == make_plan([], [gone]).changes


class TestRule5History:
    """Finished runs are history: never cancelled or changed."""

    @pytest.mark.parametrize("status", ["complete", "partial", "failed", "cancelled", "cancelling"])
    def test_undeclared_finished_run_is_not_pruned(self, status: str) -> None:
        """Pruning only touches active runs."""
        assert () == make_plan([], [run(bland("gone"), "r-1", status)]).changes

    def test_finished_duplicates_are_not_cancelled(self) -> None:
        """Two finished runs of the same hash are both history; no duplicate cancel."""
        resource = bland()
        live = [
            run(resource, "r-1", "complete", minutes_ago=60),
            run(resource, "r-2", "complete", minutes_ago=30),
        ]
        assert 0 == len(make_plan([resource], live).actions)

    @pytest.mark.parametrize("status", ["mystery", "PAUSED"])
    def test_unknown_status_is_never_cancelled(self, status: str) -> None:
        """Runs in an undocumented status are neither pruned nor replaced."""
        gone = run(bland("gone"), "r-1", status)
        stale = run(bland(pass_threshold_pct=70), "r-2", status)
        p = make_plan([bland()], [gone, stale])
        assert [] == [c for c in p.changes if c.cancels]


class TestRule6Unmanaged:
    """Runs not managed by this workspace are never touched, only counted; adopt is opt-in."""

    def test_foreign_workspace_run_is_not_pruned(self) -> None:
        """A run labelled with another workspace is left alone and counted as foreign."""
        p = make_plan([], [run(bland("gone"), "r-1", workspace="other-ws")])
        assert () == p.changes
        assert (VendorCounts(vendor=Vendor.BLAND, live=1, foreign=1),) == p.counts

    def test_foreign_run_does_not_satisfy(self) -> None:
        """A run of another workspace with the same address and hash does not satisfy ours."""
        resource = bland()
        change = only(make_plan([resource], [run(resource, "r-1", workspace="other-ws")]))
        assert (Action.CREATE, Reason.MISSING) == (change.action, change.reason)

    def test_unlabelled_run_is_not_pruned(self) -> None:
        """A run with no reconciler labels is counted as unmanaged and never cancelled."""
        p = make_plan([], [run(bland("gone"), "r-1", workspace=None)])
        assert () == p.changes
        assert (VendorCounts(vendor=Vendor.BLAND, live=1, unmanaged=1),) == p.counts

    def test_unmanaged_run_without_adopt_does_not_satisfy(self) -> None:
        """Without adopt: true an unlabelled run with the same fingerprint is ignored."""
        resource = bland()
        change = only(make_plan([resource], [run(resource, "r-1", workspace=None)]))
        assert (Action.CREATE, Reason.MISSING) == (change.action, change.reason)

    def test_adopt_lets_an_unmanaged_run_satisfy(self) -> None:
        """With adopt: true an unlabelled run with the same adopt_key satisfies the resource."""
        resource = bland(lifecycle=Lifecycle(adopt=True))
        change = only(make_plan([resource], [run(resource, "r-1", workspace=None)]))
        expected = (Action.NO_OP, Reason.ADOPTED, Identity.ADOPTED, "r-1")
        assert expected == (change.action, change.reason, change.identity, change.run_id)

    def test_adopt_ignores_a_different_fingerprint(self) -> None:
        """An unmanaged run evaluating other calls is not adopted."""
        resource = bland(lifecycle=Lifecycle(adopt=True))
        other = run(bland(call_ids=["call-9"]), "r-1", workspace=None)
        change = only(make_plan([resource], [other]))
        assert (Action.CREATE, Reason.MISSING) == (change.action, change.reason)

    def test_adopt_never_takes_a_foreign_run(self) -> None:
        """A run owned by another workspace is not adopted, even with the same adopt_key."""
        resource = bland(lifecycle=Lifecycle(adopt=True))
        change = only(make_plan([resource], [run(resource, "r-1", workspace="other-ws")]))
        assert (Action.CREATE, Reason.MISSING) == (change.action, change.reason)

    def test_adopt_skips_failed_runs(self) -> None:
        """A failed unmanaged run is not adopted and is not an attempt of ours."""
        resource = bland(lifecycle=Lifecycle(adopt=True))
        change = only(make_plan([resource], [run(resource, "r-1", "failed", workspace=None)]))
        assert (Action.CREATE, Reason.MISSING, 0) == (
            change.action,
            change.reason,
            change.attempts,
        )

    def test_adopt_respects_rerun_after(self) -> None:
        """An unmanaged run older than a past rerun_after is not adopted."""
        resource = bland(lifecycle=Lifecycle(adopt=True, rerun_after=NOW - timedelta(minutes=30)))
        live = [run(resource, "r-1", "complete", minutes_ago=60, workspace=None)]
        assert Action.CREATE == only(make_plan([resource], live)).action

    def test_managed_run_wins_over_adoption(self) -> None:
        """When a managed run satisfies, the unmanaged one is not adopted."""
        resource = bland(lifecycle=Lifecycle(adopt=True))
        live = [run(resource, "mine"), run(resource, "theirs", workspace=None, minutes_ago=90)]
        assert [(Action.NO_OP, Reason.SATISFIED, NIGHTLY, "mine")] == summary(
            make_plan([resource], live)
        )

    def test_several_adoptable_runs_are_not_cancelled(self) -> None:
        """Adopted duplicates are unmanaged, so none of them is cancelled."""
        resource = bland(lifecycle=Lifecycle(adopt=True))
        live = [
            run(resource, "r-1", workspace=None, minutes_ago=60),
            run(resource, "r-2", workspace=None, minutes_ago=30),
        ]
        assert [(Action.NO_OP, Reason.ADOPTED, NIGHTLY, "r-1")] == summary(
            make_plan([resource], live)
        )


class TestRule7Duplicates:
    """Two active managed runs with the same address and hash: keep the oldest, cancel the rest."""

    def test_newer_duplicate_is_cancelled(self) -> None:
        """The oldest active run is kept and the newer one cancelled as a duplicate."""
        resource = bland()
        live = [run(resource, "new", minutes_ago=10), run(resource, "old", minutes_ago=60)]
        expected = [
            (Action.CANCEL, Reason.DUPLICATE, NIGHTLY, "new"),
            (Action.NO_OP, Reason.SATISFIED, NIGHTLY, "old"),
        ]
        assert expected == summary(make_plan([resource], live))

    def test_every_extra_copy_is_cancelled(self) -> None:
        """Of three racing copies only the oldest survives."""
        resource = bland()
        live = [run(resource, f"r-{i}", minutes_ago=60 - i) for i in range(3)]
        p = make_plan([resource], live)
        cancelled = sorted(c.run_id or "" for c in p.changes if c.action is Action.CANCEL)
        assert ["r-1", "r-2"] == cancelled

    def test_equal_creation_times_break_ties_by_run_id(self) -> None:
        """Runs created at the same instant keep the smaller run id."""
        resource = bland()
        live = [run(resource, "b", minutes_ago=5), run(resource, "a", minutes_ago=5)]
        p = make_plan([resource], live)
        assert [("a", Action.NO_OP), ("b", Action.CANCEL)] == [
            (c.run_id, c.action) for c in p.changes
        ]

    @pytest.mark.parametrize(
        ("lifecycle", "protect_label"),
        [(Lifecycle(protect=True), False), (Lifecycle(protect=True), True)],
        ids=["protected-in-manifest", "protect-label"],
    )
    def test_a_protected_resource_keeps_its_oldest_run_and_cancels_the_twin(
        self, lifecycle: Lifecycle, protect_label: bool
    ) -> None:
        """Protection guards the run that satisfies the resource, not a twin a race made."""
        resource = bland(lifecycle=lifecycle)
        live = [
            run(resource, "old", minutes_ago=60, protect_label=protect_label),
            run(resource, "new", minutes_ago=10, protect_label=protect_label),
        ]
        expected = [
            (Action.CANCEL, Reason.DUPLICATE, NIGHTLY, "new"),
            (Action.NO_OP, Reason.SATISFIED, NIGHTLY, "old"),
        ]
        assert expected == summary(make_plan([resource], live))

    def test_finished_copy_is_not_a_duplicate(self) -> None:
        """An active run beside a finished one of the same hash is not cancelled."""
        resource = bland()
        live = [
            run(resource, "done", "complete", minutes_ago=60),
            run(resource, "going", minutes_ago=10),
        ]
        assert 0 == len(make_plan([resource], live).actions)

    def test_unknown_copy_is_not_a_duplicate(self) -> None:
        """An active run beside one in an unknown status: nothing is cancelled."""
        resource = bland()
        live = [
            run(resource, "odd", "mystery", minutes_ago=60),
            run(resource, "going", minutes_ago=10),
        ]
        assert 0 == len(make_plan([resource], live).actions)


class TestRule8Safety:
    """Too many cancels, or pruning every managed run of a vendor, is refused unless allowed."""

    @staticmethod
    def _prunes(count: int) -> list[LiveRun]:
        return [run(bland(f"gone-{i}"), f"r-{i}") for i in range(count)]

    def test_more_than_max_cancellations_is_refused(self) -> None:
        """Eleven cancels with the default limit of ten refuse the plan."""
        kept = bland("kept")
        live = [*self._prunes(11), run(kept, "k")]
        p = make_plan([kept], live)
        assert p.refusal is not None
        assert "cancels 11 runs, more than safety.max_cancellations (10)" in p.refusal

    def test_exactly_max_cancellations_is_allowed(self) -> None:
        """Cancelling exactly max_cancellations runs is within the limit."""
        kept = bland("kept")
        p = make_plan([kept], [*self._prunes(3), run(kept, "k")], max_cancellations=3)
        assert (None, 3) == (p.refusal, p.count(Action.CANCEL))

    def test_replaces_count_as_cancels(self) -> None:
        """A replace cancels a run, so it counts against max_cancellations."""
        old = [bland(f"r{i}", pass_threshold_pct=70) for i in range(2)]
        new = [bland(f"r{i}") for i in range(2)]
        live = [run(r, f"x-{i}") for i, r in enumerate(old)]
        p = make_plan(new, live, max_cancellations=1)
        assert p.refusal is not None
        assert 2 == p.count(Action.REPLACE)

    def test_allow_mass_cancel_lifts_the_limit(self) -> None:
        """--allow-mass-cancel lets a large plan through unchanged."""
        kept = bland("kept")
        live = [*self._prunes(11), run(kept, "k")]
        p = make_plan([kept], live, allow_mass_cancel=True)
        assert (None, 11) == (p.refusal, p.count(Action.CANCEL))

    def test_pruning_every_managed_run_is_refused(self) -> None:
        """Cancelling all (two or more) active managed runs at a vendor looks like a mistake."""
        p = make_plan([], self._prunes(2))
        assert p.refusal is not None
        assert "every active run this workspace has at Bland (2)" in p.refusal

    def test_pruning_every_managed_run_with_allow(self) -> None:
        """--allow-mass-cancel lets the prune-everything plan through."""
        assert None is make_plan([], self._prunes(2), allow_mass_cancel=True).refusal

    def test_pruning_a_single_run_is_allowed(self) -> None:
        """One prune of the only managed run is an ordinary plan."""
        p = make_plan([], self._prunes(1))
        assert (None, 1) == (p.refusal, p.count(Action.CANCEL))

    def test_pruning_some_managed_runs_is_allowed(self) -> None:
        """When an active managed run stays, pruning the others is not refused."""
        kept = bland("kept")
        p = make_plan([kept], [*self._prunes(3), run(kept, "k")])
        assert (None, 3) == (p.refusal, p.count(Action.CANCEL))

    def test_a_protected_run_is_not_pruned_and_blocks_the_guard(self) -> None:
        """A protected run stays active, so pruning the rest is not 'every run'."""
        protected = run(bland("keep-me"), "p", protect_label=True)
        p = make_plan([], [*self._prunes(2), protected])
        assert (None, 2) == (p.refusal, p.count(Action.CANCEL))

    def test_finished_managed_runs_do_not_count_as_remaining(self) -> None:
        """Finished runs are not active, so pruning every active one is still refused."""
        done = run(bland("done"), "d", "complete")
        assert make_plan([], [*self._prunes(2), done]).refusal is not None

    def test_refused_plan_still_lists_its_changes(self) -> None:
        """A refused plan shows what it would have done."""
        p = make_plan([], self._prunes(2))
        assert 2 == p.count(Action.CANCEL)


class TestRule9Listing:
    """A failed listing aborts: an unknown state is never read as "nothing exists"."""

    def test_listing_error_propagates(self) -> None:
        """gather_live_state re-raises a vendor's ListingError instead of returning no runs."""

        class Broken:
            def list_runs(self, desired: Sequence[Resource], **_: object) -> list[LiveRun]:
                raise ListingError("page 3 never came", vendor="bland", operation="list runs")

        class Fine:
            def list_runs(self, desired: Sequence[Resource], **_: object) -> list[LiveRun]:
                return []

        providers = {Vendor.BLAND: Broken(), Vendor.ADALINE: Fine()}
        with pytest.raises(ListingError, match="page 3 never came"):
            gather_live_state(providers, [bland()])  # type: ignore[arg-type]

    def test_successful_listing_is_sorted(self) -> None:
        """Runs from every vendor come back in (vendor, run id) order."""
        resource = bland()

        class Lister:
            def list_runs(self, desired: Sequence[Resource], **_: object) -> list[LiveRun]:
                return [run(resource, "r-2"), run(resource, "r-1")]

        state = gather_live_state({Vendor.BLAND: Lister()}, [resource])  # type: ignore[dict-item]
        assert ["r-1", "r-2"] == [r.run_id for r in state.runs]


class TestTargets:
    """--target / --exclude: the plan is partial and leaves other addresses alone."""

    def test_target_limits_the_plan(self) -> None:
        """Only resources whose address matches a target glob are planned."""
        p = make_plan([bland("a-1"), bland("b-1")], [], targets=("BlandEvalRun/a-*",))
        assert [(Action.CREATE, Reason.MISSING, "BlandEvalRun/a-1", None)] == summary(p)
        assert p.targeted

    def test_exclude_removes_addresses(self) -> None:
        """Excluded addresses are neither created nor cancelled."""
        p = make_plan([bland("a-1"), bland("b-1")], [], excludes=("*/b-*",))
        assert ["BlandEvalRun/a-1"] == [c.subject for c in p.changes]
        assert p.targeted

    def test_untargeted_plan_is_complete(self) -> None:
        """Without targets or excludes the plan is not marked partial."""
        assert not make_plan([bland()], []).targeted

    def test_out_of_scope_prune_is_left_alone(self) -> None:
        """An undeclared run outside the target is not pruned."""
        p = make_plan([], [run(bland("gone"), "r-1")], targets=("BlandEvalRun/a-*",))
        assert () == p.changes

    def test_in_scope_prune_happens(self) -> None:
        """An undeclared run inside the target is pruned."""
        p = make_plan([], [run(bland("a-9"), "r-1")], targets=("BlandEvalRun/a-*",))
        assert [(Action.CANCEL, Reason.NOT_DECLARED, "BlandEvalRun/a-9", "r-1")] == summary(p)

    def test_out_of_scope_declared_resource_is_not_pruned(self) -> None:
        """A declared resource outside the target is not mistaken for an undeclared one."""
        other = bland("b-1")
        p = make_plan([other], [run(other, "r-1")], targets=("BlandEvalRun/a-*",))
        assert () == p.changes

    def test_out_of_scope_stale_run_is_not_replaced(self) -> None:
        """A stale run of an excluded resource keeps running."""
        old, new = bland("b-1", pass_threshold_pct=70), bland("b-1")
        assert () == make_plan([new], [run(old, "r-1")], excludes=("*/b-1",)).changes


class TestCounts:
    """Per-vendor counts: what the plan saw and what it left alone."""

    def test_counts_per_vendor(self) -> None:
        """Live, managed, unmanaged and foreign runs are counted per vendor."""
        resource = bland()
        live = [
            run(resource, "m-1"),
            run(resource, "m-2", "complete"),
            run(resource, "u-1", workspace=None),
            run(resource, "f-1", workspace="other-ws"),
        ]
        expected = (VendorCounts(vendor=Vendor.BLAND, live=4, managed=2, unmanaged=1, foreign=1),)
        assert expected == make_plan([resource], live).counts

    def test_matched_counts_unmanaged_runs_with_a_declared_key(self) -> None:
        """Adaline runs whose key is declared are counted as matched; the others are not."""
        declared, other = adaline("qa"), adaline("other", prompt="prompt-9")
        live = [run(declared, "e-1"), run(declared, "e-2", "completed"), run(other, "e-3")]
        expected = (VendorCounts(vendor=Vendor.ADALINE, live=3, matched=2, unmanaged=3),)
        assert expected == make_plan([declared], live).counts

    def test_arize_counts_by_creator(self) -> None:
        """Arize runs by the owner are managed, by others foreign, by nobody unmanaged."""
        resource = arize()
        live = [
            run(resource, "t-1", created_by=OWNER),
            run(resource, "t-2", created_by="user-other"),
            run(resource, "t-3"),
        ]
        counts = make_plan([resource], live, owners=((Vendor.ARIZE, OWNER),)).counts
        assert 1 == len(counts)
        assert (3, 1, 1, 1) == (
            counts[0].live,
            counts[0].managed,
            counts[0].unmanaged,
            counts[0].foreign,
        )

    def test_vendors_are_counted_in_order(self) -> None:
        """Counts come sorted by vendor whatever the input order."""
        live = [run(arize(), "t-1"), run(adaline(), "e-1"), run(bland(), "r-1")]
        vendors = [c.vendor for c in make_plan([], live).counts]
        assert sorted(vendors) == vendors

    def test_no_runs_no_counts(self) -> None:
        """A vendor with no live runs has no counts line."""
        assert () == make_plan([bland()], []).counts

    def test_the_counts_line_is_a_partition_whose_parts_add_up(self) -> None:
        """The line says how many runs are ours and how many of others, and they sum to live."""
        declared, other = adaline("qa"), adaline("other", prompt="prompt-9")
        live = [run(declared, "e-1"), run(declared, "e-2", "completed"), run(other, "e-3")]
        (counts,) = make_plan([declared], live).counts
        assert (
            "Adaline: 3 live runs: 0 managed by this workspace, 3 of others left alone "
            "(3 with no known owner; 2 of these 3 matched by natural key)."
        ) == counts_line(counts)

    @pytest.mark.parametrize(
        "vendor_runs",
        ["bland", "adaline", "arize"],
    )
    def test_the_parts_of_the_counts_line_add_up_to_the_live_runs(self, vendor_runs: str) -> None:
        """Managed + owned by others + no known owner = live; matched is among the others."""
        resource = {"bland": bland(), "adaline": adaline(), "arize": arize()}[vendor_runs]
        live = [
            run(resource, "r-1", created_by=OWNER),
            run(resource, "r-2", "complete", workspace=None),
            run(resource, "r-3", workspace="other-ws", created_by="user-other"),
            run(resource, "r-4", "failed", workspace=None),
        ]
        (counts,) = make_plan([resource], live, owners=((Vendor.ARIZE, OWNER),)).counts
        text = counts_line(counts)

        def number(pattern: str) -> int:
            found = re.search(pattern, text)
            return int(found.group(1)) if found else 0  # a part that is 0 is left out

        live_runs, managed = number(r"(\d+) live run"), number(r"(\d+) managed by")
        others, foreign = number(r"(\d+) of others"), number(r"(\d+) owned by another")
        unowned = number(r"(\d+) with no known owner")
        assert len(live) == live_runs == managed + others == managed + foreign + unowned
        matched = re.search(r"(\d+) of these (\d+) matched", text)
        if matched:
            assert others == int(matched.group(2)) >= int(matched.group(1))

    def test_a_vendor_with_only_our_runs_says_so_without_zero_parts(self) -> None:
        """No `0 of others, left alone (0 ..., 0 ...)` noise when every run is ours."""
        resource = bland()
        (counts,) = make_plan([resource], [run(resource, "r-1")]).counts
        assert "Bland: 1 live run: 1 managed by this workspace." == counts_line(counts)


class TestNaturalKeyVendors:
    """Adaline and Arize: runs are matched by natural key; cancelled only when owned."""

    def test_adaline_run_with_the_key_matches(self) -> None:
        """Any active Adaline run with the declared key satisfies it, reason matched."""
        resource = adaline()
        change = only(make_plan([resource], [run(resource, "e-1")]))
        expected = (Action.NO_OP, Reason.MATCHED, Identity.NATURAL_KEY, "e-1")
        assert expected == (change.action, change.reason, change.identity, change.run_id)

    def test_arize_run_by_someone_else_matches(self) -> None:
        """An Arize run by another user with the key satisfies the resource."""
        resource = arize()
        live = [run(resource, "t-1", created_by="user-other")]
        p = make_plan([resource], live, owners=((Vendor.ARIZE, OWNER),))
        assert [(Action.NO_OP, Reason.MATCHED, "ArizeTaskRun/drift", "t-1")] == summary(p)

    def test_arize_experiment_key_matches(self) -> None:
        """An Arize RUN_EXPERIMENT resource is matched by task and experiment name."""
        resource = Resource.build(
            address=Address(Kind.ARIZE_TASK_RUN, "exp"),
            spec={"task_id": "task-1", "experiment_name": "exp-1"},
            lifecycle=Lifecycle(),
            source=SourceLocation(path="evals/exp.yaml", line=1),
        )
        assert arize_vendor.experiment_key(task_id="task-1", experiment_name="exp-1") == (
            resource.natural_key
        )
        assert Reason.MATCHED == only(make_plan([resource], [run(resource, "t-1")])).reason

    def test_keyed_run_with_another_key_does_not_match(self) -> None:
        """A run of another prompt does not satisfy; the resource is created."""
        resource, other = adaline(), adaline("x", prompt="prompt-2")
        change = only(make_plan([resource], [run(other, "e-1")]))
        assert (Action.CREATE, Reason.MISSING) == (change.action, change.reason)

    def test_failed_keyed_runs_count_as_attempts(self) -> None:
        """Failed Adaline runs with the key use up max_attempts."""
        resource = adaline(max_attempts=2)
        live = [run(resource, f"e-{i}", "failed", minutes_ago=10 * i) for i in (1, 2)]
        change = only(make_plan([resource], live))
        assert (Action.NO_OP, Reason.ATTEMPTS_EXHAUSTED, 2) == (
            change.action,
            change.reason,
            change.attempts,
        )

    def test_adaline_runs_are_never_pruned(self) -> None:
        """Adaline runs carry no owner, so undeclared active ones are not cancelled."""
        p = make_plan([], [run(adaline(), "e-1"), run(adaline(), "e-2")])
        assert () == p.changes

    def test_adaline_duplicates_are_not_cancelled(self) -> None:
        """Two active Adaline runs with the key: the oldest is kept, the other left alone."""
        resource = adaline()
        live = [run(resource, "e-1", minutes_ago=60), run(resource, "e-2", minutes_ago=10)]
        assert [(Action.NO_OP, Reason.MATCHED, "AdalineEvaluation/qa", "e-1")] == summary(
            make_plan([resource], live)
        )

    def test_adaline_note_says_runs_carry_no_labels(self) -> None:
        """The plan explains why Adaline runs are only matched."""
        notes = make_plan([adaline()], [run(adaline(), "e-1")]).notes
        assert any(n.startswith("Adaline runs carry no labels") for n in notes)

    def test_arize_run_by_the_owner_is_pruned(self) -> None:
        """An undeclared active Arize run created by the configured owner is cancelled."""
        gone = arize(task="task-9")
        p = make_plan([], [run(gone, "t-1", created_by=OWNER)], owners=((Vendor.ARIZE, OWNER),))
        change = only(p)
        expected = (Action.CANCEL, Reason.NOT_DECLARED, Identity.NATURAL_KEY, str(gone.natural_key))
        assert expected == (change.action, change.reason, change.identity, change.subject)

    def test_arize_run_without_configured_owner_is_not_pruned(self) -> None:
        """Without an Arize owner in the settings nothing is provably ours."""
        assert () == make_plan([], [run(arize(), "t-1", created_by=OWNER)]).changes

    def test_arize_run_by_another_user_is_not_pruned(self) -> None:
        """A run created by someone else is foreign and left running."""
        live = [run(arize(), "t-1", created_by="user-other")]
        assert () == make_plan([], live, owners=((Vendor.ARIZE, OWNER),)).changes

    def test_arize_run_by_nobody_is_not_pruned(self) -> None:
        """A run with no creator cannot be proven ours."""
        live = [run(arize(), "t-1")]
        assert () == make_plan([], live, owners=((Vendor.ARIZE, OWNER),)).changes

    def test_arize_owner_of_another_vendor_does_not_count(self) -> None:
        """An owner configured for Adaline does not make Arize runs ours."""
        live = [run(arize(), "t-1", created_by=OWNER)]
        assert () == make_plan([], live, owners=((Vendor.ADALINE, OWNER),)).changes

    def test_arize_managed_duplicate_is_cancelled(self) -> None:
        """A newer active Arize run of ours beside an older one with the key is a duplicate."""
        resource = arize()
        live = [
            run(resource, "t-1", minutes_ago=60, created_by="user-other"),
            run(resource, "t-2", minutes_ago=10, created_by=OWNER),
        ]
        p = make_plan([resource], live, owners=((Vendor.ARIZE, OWNER),))
        expected = [
            (Action.NO_OP, Reason.MATCHED, "ArizeTaskRun/drift", "t-1"),
            (Action.CANCEL, Reason.DUPLICATE, "ArizeTaskRun/drift", "t-2"),
        ]
        assert expected == summary(p)

    def test_arize_prune_of_every_owned_run_is_refused(self) -> None:
        """The mass-prune guard applies to Arize runs we own too."""
        live = [run(arize(task=f"task-{i}"), f"t-{i}", created_by=OWNER) for i in range(2)]
        p = make_plan([], live, owners=((Vendor.ARIZE, OWNER),))
        assert p.refusal is not None
        assert "at Arize (2)" in p.refusal


class TestPlanShape:
    """The plan is sorted and depends only on its inputs."""

    def test_changes_are_sorted_by_vendor_then_address(self) -> None:
        """Changes come out grouped by vendor and address, whatever the input order."""
        desired = [bland("z"), adaline("m"), bland("a"), arize("k")]
        p = make_plan(desired, [])
        assert [
            "AdalineEvaluation/m",
            "ArizeTaskRun/k",
            "BlandEvalRun/a",
            "BlandEvalRun/z",
        ] == [c.subject for c in p.changes]

    def test_same_inputs_same_plan(self) -> None:
        """Planning twice, with inputs reversed, gives equal plans."""
        resource, gone = bland(), bland("gone")
        live = [run(resource, "r-1"), run(resource, "r-2", minutes_ago=5), run(gone, "r-3")]
        first = make_plan([resource, gone], live)
        assert first == make_plan([gone, resource], list(reversed(live)))

    def test_garbage_collector_is_left_as_found(self) -> None:
        """Planning pauses the cyclic GC, and leaves it on, or off, as it was: even on an error."""
        resource = bland()
        live = [run(resource, "r-1")]
        assert gc.isenabled()
        make_plan([resource], live)
        assert gc.isenabled()
        broken = replace(arize(), natural_key=None)  # no key: the planner's assert fails
        with pytest.raises(AssertionError):
            make_plan([broken], [])
        assert gc.isenabled()
        gc.disable()
        try:
            make_plan([resource], live)
            assert not gc.isenabled()
        finally:
            gc.enable()

    def test_workspace_is_recorded(self) -> None:
        """The plan says which workspace it was made for."""
        assert WS == make_plan([], []).workspace
