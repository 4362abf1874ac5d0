"""The plan as a pull-request comment: order, folding, the marker and the size cap."""

from __future__ import annotations

from datetime import UTC, datetime

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
    VendorCounts,
)
from reconciler.render.markdown import MAX_CHARS, marker, render_markdown

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def resource(name: str, kind: Kind = Kind.BLAND_EVAL_RUN) -> Resource:
    spec = {
        Kind.BLAND_EVAL_RUN: {"call_ids": ["c1"], "attached_agents": [{"eval_agent_id": "a"}]},
        Kind.ADALINE_EVALUATION: {"promptId": "p", "evaluatorId": name, "datasetId": "d"},
    }[kind]
    return Resource.build(
        address=Address(kind, name),
        spec=spec,
        lifecycle=Lifecycle(),
        source=SourceLocation(path="x.yaml", line=1),
    )


def run(run_id: str, vendor: Vendor = Vendor.BLAND) -> LiveRun:
    return LiveRun(
        vendor=vendor, run_id=run_id, status="RUNNING", phase=RunPhase.ACTIVE, created_at=NOW
    )


def create(name: str, kind: Kind = Kind.BLAND_EVAL_RUN) -> Change:
    r = resource(name, kind)
    return Change(
        action=Action.CREATE,
        reason=Reason.MISSING,
        vendor=r.vendor,
        subject=str(r.address),
        identity=Identity.NONE,
        resource=r,
    )


def cancel(name: str) -> Change:
    return Change(
        action=Action.CANCEL,
        reason=Reason.NOT_DECLARED,
        vendor=Vendor.BLAND,
        subject=f"BlandEvalRun/{name}",
        identity=Identity.LABELS,
        run=run(f"run-{name}"),
    )


def a_plan(changes: list[Change], **extra: object) -> Plan:
    counts = (VendorCounts(vendor=Vendor.BLAND, live=3, managed=2, unmanaged=1),)
    return Plan(workspace="support-evals", changes=tuple(changes), counts=counts, **extra)


class TestShape:
    def test_it_starts_with_the_hidden_marker_then_the_summary(self):
        """CI finds the comment by the marker; the summary is the first thing a reader sees."""
        lines = render_markdown(a_plan([create("a")])).splitlines()
        assert "<!-- reconciler:support-evals -->" == lines[0] == marker("support-evals")
        assert "**Plan: 1 to create, 0 to cancel, 0 to replace.**" in lines[:5]

    def test_cancels_come_first_and_in_bold(self):
        """A reviewer sees what will be stopped before anything else."""
        text = render_markdown(a_plan([create("a"), cancel("gone")]))
        first_cancel = text.index("**- cancel `BlandEvalRun/gone`**")
        assert first_cancel < text.index("<details>")
        assert "**1 run(s) will be cancelled:**" in text

    def test_each_vendor_is_folded_in_its_own_details(self):
        """One collapsible block per vendor, with counts per action in its summary."""
        changes = [create("a"), create("b"), cancel("gone"), create("q", Kind.ADALINE_EVALUATION)]
        text = render_markdown(a_plan(changes))
        assert "<details><summary>Bland: 3 action(s) (2 create, 1 cancel)</summary>" in text
        assert "<details><summary>Adaline: 1 action(s) (1 create)</summary>" in text
        assert text.count("<details>") == text.count("</details>") == 2

    def test_a_refused_plan_says_so_under_the_summary(self):
        """The guard's reason is in the comment, not only in the CI log."""
        text = render_markdown(a_plan([cancel("x")], refusal="too many cancels"))
        assert "**Refused:** too many cancels" in text

    def test_a_plan_with_no_changes_is_short(self):
        """No details blocks when nothing changes."""
        text = render_markdown(a_plan([]))
        assert "No changes." in text
        assert "<details>" not in text


class TestSizeCap:
    def test_a_ten_thousand_action_plan_fits_with_a_note_of_what_was_left_out(self):
        """GitHub's 65,536-character limit holds, and the comment says what it dropped."""
        changes = [create(f"resource-{n:05d}") for n in range(9_000)]
        changes += [cancel(f"gone-{n:05d}") for n in range(1_000)]
        text = render_markdown(a_plan(changes))
        assert len(text) <= MAX_CHARS
        assert "**Plan: 9000 to create, 1000 to cancel, 0 to replace.**" in text
        assert "are not shown: a comment holds at most 65,536 characters" in text
        assert text.count("<details>") == text.count("</details>")

    def test_detail_goes_before_cancels(self):
        """Under a tight limit, the cancels stay and the folded rows are dropped."""
        changes = [create(f"r{n}") for n in range(200)] + [cancel("gone")]
        text = render_markdown(a_plan(changes), limit=3_000)
        assert len(text) <= 3_000
        assert "**- cancel `BlandEvalRun/gone`**" in text
        assert "not shown" in text

    def test_a_plan_that_fits_has_no_note(self):
        """Nothing dropped, nothing said."""
        assert "not shown" not in render_markdown(a_plan([create("a")]))


class TestCost:
    def test_each_create_shows_its_estimate_and_the_total_is_under_the_summary(self):
        """A priced create shows ~$, an unpriced one says unknown, never $0."""
        priced = Change(
            action=Action.CREATE,
            reason=Reason.MISSING,
            vendor=Vendor.BLAND,
            subject="BlandEvalRun/a",
            identity=Identity.NONE,
            resource=resource("a"),
            cost_usd=0.42,
        )
        text = render_markdown(a_plan([priced, create("b")]))
        assert "| + create | `BlandEvalRun/a` |  | ~$0.42 |" in text
        assert "| + create | `BlandEvalRun/b` |  | cost unknown |" in text
        assert "Estimated cost: $0.42 (1 unknown)" in text
